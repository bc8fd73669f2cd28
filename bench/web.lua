-- wrk's side of bench/web.py: the client page or the timeline API, as many staff members.
--
-- wrk -s bench/web.lua URL -- MODE PEOPLE_FILE
--
-- MODE is "page" (GET /clients/{id} with the member's session cookie) or "api" (GET the
-- client's timeline, 50 entries, with the member's token). PEOPLE_FILE has one
-- "cookie token client_id" line per (staff member, client they may see), shuffled; each
-- request takes the next line, so the connections rotate over members and clients. At
-- the end one JSON line (prefixed "RESULT ") gives what bench/web.py prints.

local mode, people, next_person = "page", {}, 0
-- A global, so that done() can read each thread's through thread:get.
other = 0

function init(args)
  mode = args[1] or "page"
  for line in io.lines(args[2]) do
    local cookie, token, client = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
    if cookie then
      people[#people + 1] = {cookie = cookie, token = token, client = client}
    end
  end
  -- Each connection starts at its own place in the list.
  next_person = math.random(#people) - 1
end

function request()
  next_person = next_person % #people + 1
  local person = people[next_person]
  if mode == "api" then
    return wrk.format("GET", "/api/v1/clients/" .. person.client .. "/timeline?limit=50",
                      {["Authorization"] = "Bearer " .. person.token})
  end
  return wrk.format("GET", "/clients/" .. person.client,
                    {["Cookie"] = "clienthub_session=" .. person.cookie})
end

function response(status, headers, body)
  if status ~= 200 then other = other + 1 end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + (thread:get("other") or 0) end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.2f, "status_errors": %d, "socket_errors": %d, "timeouts": %d, ' ..
    '"not_ok": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, math.max(failed, e.status),
    e.connect + e.read + e.write, e.timeout, failed))
end
