-- wrk's side of bench/api_load.py: the throughput run, with the load generated in C.
--
-- wrk -s bench/api_load.lua URL -- MODE PEOPLE_FILE KEY_PREFIX
--
-- MODE is "read" (GET a client's timeline page, 20 entries), "write" (POST a note with
-- a new Idempotency-Key each time) or "floor" (GET the URL as it is). PEOPLE_FILE has
-- one "token client_id" line per staff member; each request takes the next one, so a
-- run of C connections reads (or writes) as C staff members in turn, each on their own
-- client with their own token. At the end one JSON line (prefixed "RESULT ") gives the
-- counts and latencies that bench/api_load.py prints.

local mode, people, prefix = "floor", {}, "k"
local counter, next_person = 0, 0
-- Globals, so that done() can read each thread's through thread:get.
created, other, id = 0, 0, 0

function init(args)
  mode = args[1] or "floor"
  prefix = (args[3] or "k") .. "-" .. id
  if args[2] then
    for line in io.lines(args[2]) do
      local token, client = line:match("^(%S+)%s+(%S+)$")
      if token then people[#people + 1] = {token = token, client = client} end
    end
  end
end

function request()
  if mode == "floor" then
    return wrk.format("GET", wrk.path, {["Authorization"] = "Bearer floor"})
  end
  next_person = next_person % #people + 1
  local person = people[next_person]
  local auth = "Bearer " .. person.token
  if mode == "read" then
    return wrk.format("GET", "/api/v1/clients/" .. person.client .. "/timeline?limit=20",
                      {["Authorization"] = auth})
  end
  counter = counter + 1
  local key = prefix .. "-" .. counter
  return wrk.format("POST", "/api/v1/clients/" .. person.client .. "/notes",
                    {["Authorization"] = auth, ["Idempotency-Key"] = key,
                     ["Content-Type"] = "application/json"},
                    '{"text": "kuorma ' .. key .. '"}')
end

function response(status, headers, body)
  if status == 201 then created = created + 1 elseif status >= 300 then other = other + 1 end
end

-- Threads keep their own counters; done() sees them through setup's thread objects.
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("id", #threads)
end

function done(summary, latency, requests)
  local made, failed = 0, 0
  for _, thread in ipairs(threads) do
    made = made + (thread:get("created") or 0)
    failed = failed + (thread:get("other") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, ' ..
    '"max_ms": %.2f, "created": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"timeouts": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, made, e.status,
    e.connect + e.read + e.write, e.timeout))
end
