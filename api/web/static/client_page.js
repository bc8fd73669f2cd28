/* The client page: suggestions of colleagues to @mention while writing a note.
   Typing "@" and letters asks the server for matching active colleagues; the arrow keys
   move through them, Enter or Tab puts "@their.address" into the note, Escape closes.
   Without this script the note still posts, and "@firstname" in it still mentions. */
(function () {
  "use strict";

  var form = document.querySelector("form.note-form");
  if (!form) { return; }
  var area = form.querySelector("textarea");
  var list = document.getElementById("mention-options");
  var status = document.getElementById("mention-status");
  var url = form.getAttribute("data-mentions");
  var active = -1;
  var asked = 0;

  function typedHandle() {
    var upto = area.value.slice(0, area.selectionStart);
    var found = /(^|[\s(,;])@([^\s@]*)$/.exec(upto);
    if (!found) { return null; }
    return { start: upto.length - found[2].length - 1, text: found[2] };
  }

  function options() { return list.querySelectorAll("[role=option]"); }

  function close() {
    list.hidden = true;
    list.textContent = "";
    active = -1;
    area.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    var all = options();
    if (!all.length) { return; }
    active = (index + all.length) % all.length;
    for (var i = 0; i < all.length; i++) {
      all[i].setAttribute("aria-selected", i === active ? "true" : "false");
    }
    area.setAttribute("aria-activedescendant", all[active].id);
    all[active].scrollIntoView({ block: "nearest" });
  }

  function pick(option) {
    var handle = typedHandle();
    if (!handle || !option) { close(); return; }
    var text = "@" + option.getAttribute("data-handle") + " ";
    var before = area.value.slice(0, handle.start);
    var after = area.value.slice(area.selectionStart);
    area.value = before + text + after;
    var caret = before.length + text.length;
    area.setSelectionRange(caret, caret);
    status.textContent = form.getAttribute("data-picked").replace("{name}",
      option.querySelector(".person-name").textContent);
    close();
    area.focus();
  }

  function suggest() {
    var handle = typedHandle();
    if (!handle) { close(); return; }
    var ask = ++asked;
    fetch(url + "?q=" + encodeURIComponent(handle.text), { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.text() : ""; })
      .then(function (html) {
        if (ask !== asked) { return; }  // a later keystroke asked again
        list.innerHTML = html;  // our own server's fragment, escaped by its templates
        var count = options().length;
        if (!count) {
          close();
          status.textContent = form.getAttribute("data-none");
          return;
        }
        list.hidden = false;
        highlight(0);
        status.textContent = form.getAttribute("data-found").replace("{count}", String(count));
      });
  }

  area.addEventListener("input", suggest);
  area.addEventListener("keydown", function (event) {
    if (list.hidden) { return; }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" || event.key === "Tab") {
      pick(options()[active]);
    } else if (event.key === "Escape") {
      close();
    } else {
      return;
    }
    event.preventDefault();
  });
  list.addEventListener("mousedown", function (event) {
    var option = event.target.closest("[role=option]");
    if (option) {
      event.preventDefault();  // keep the focus in the note
      highlight(Array.prototype.indexOf.call(options(), option));
      pick(option);
    }
  });
  area.addEventListener("blur", function () { window.setTimeout(close, 200); });
}());

/* "Show more" had the focus (a keyboard user reached it, or it was clicked): the link goes
   away with the swap, so the focus moves to the first of the entries it brought, where
   reading goes on. Loads that scrolling started elsewhere leave the focus alone. */
(function () {
  "use strict";

  var firstNew = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList.contains("timeline-more")
        && target.contains(document.activeElement)) {
      firstNew = document.querySelectorAll("#timeline li.entry").length;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (firstNew === null) { return; }
    var entry = document.querySelectorAll("#timeline li.entry")[firstNew];
    firstNew = null;
    if (entry) {
      entry.setAttribute("tabindex", "-1");
      entry.focus();
    }
  });
}());
