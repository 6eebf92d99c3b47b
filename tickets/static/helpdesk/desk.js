/* Agent workspace behaviour: keyboard navigation, selection kept across refreshes, typing presence,
   canned responses, SLA countdowns. Everything here is an enhancement: pages work without it. */
(function () {
  "use strict";

  function isTyping(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  /* --- queue: rows, selection, keyboard ------------------------------------------------------ */
  var focusedId = null;
  var selected = new Set();

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr.queue-row")); }

  function focusRow(row) {
    if (!row) return;
    rows().forEach(function (r) { r.classList.remove("is-focused"); });
    row.classList.add("is-focused");
    row.focus({ preventScroll: false });
    focusedId = row.dataset.id;
  }

  function updateSelectedCount() {
    var counter = document.getElementById("selected-count");
    if (counter) counter.textContent = String(selected.size);
    var bar = document.getElementById("bulk-form");
    if (bar) bar.classList.toggle("has-selection", selected.size > 0);
  }

  function restoreRows() {
    rows().forEach(function (row) {
      var box = row.querySelector('input[name="ticket"]');
      if (box) box.checked = selected.has(row.dataset.id);
      row.classList.toggle("is-selected", selected.has(row.dataset.id));
      if (row.dataset.id === focusedId) row.classList.add("is-focused");
    });
    updateSelectedCount();
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches('#queue-rows input[name="ticket"]')) {
      var id = box.value;
      if (box.checked) selected.add(id); else selected.delete(id);
      box.closest("tr").classList.toggle("is-selected", box.checked);
      updateSelectedCount();
    } else if (box.id === "select-all") {
      rows().forEach(function (row) {
        if (box.checked) selected.add(row.dataset.id); else selected.delete(row.dataset.id);
      });
      restoreRows();
    }
  });

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("#queue-rows tr.queue-row");
    if (!row || event.target.closest("a, input, button, label")) return;
    window.location.href = row.dataset.href;
  });

  document.addEventListener("focusin", function (event) {
    var row = event.target.closest && event.target.closest("#queue-rows tr.queue-row");
    if (row) { rows().forEach(function (r) { r.classList.remove("is-focused"); }); row.classList.add("is-focused"); focusedId = row.dataset.id; }
  });

  /* The 20-second refresh replaces the table body: keep selection, focus and scroll. */
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "queue-rows") {
      var active = document.activeElement;
      event.detail.target.dataset.hadFocus = active && active.closest && active.closest("#queue-rows") ? "1" : "";
      window.__deskScroll = window.scrollY;
    }
  });
  /* A property change swaps in a new SLA card (out of band): count its clocks down at once. */
  document.addEventListener("htmx:afterSettle", function () { startCountdowns(); tick(); });
  document.addEventListener("htmx:afterSwap", function () {
    if (!document.getElementById("queue-rows")) return;
    restoreRows();
    var row = focusedId && document.querySelector('#queue-rows tr[data-id="' + focusedId + '"]');
    if (row && document.activeElement === document.body) row.focus({ preventScroll: true });
    if (typeof window.__deskScroll === "number") window.scrollTo(0, window.__deskScroll);
  });

  var pendingG = false;
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var dialog = document.getElementById("shortcuts");
    if (isTyping(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var list = rows();
    var current = document.activeElement && document.activeElement.closest ? document.activeElement.closest("#queue-rows tr.queue-row") : null;
    var index = current ? list.indexOf(current) : list.findIndex(function (r) { return r.dataset.id === focusedId; });
    if (event.key === "?") {
      if (dialog && !dialog.open) { dialog.showModal(); event.preventDefault(); }
    } else if (event.key === "j" && list.length) {
      focusRow(list[Math.min(index + 1, list.length - 1)]); event.preventDefault();
    } else if (event.key === "k" && list.length) {
      focusRow(list[Math.max(index - 1, 0)]); event.preventDefault();
    } else if (event.key === "Enter" && current) {
      window.location.href = current.dataset.href; event.preventDefault();
    } else if (event.key === "x" && current) {
      var box = current.querySelector('input[name="ticket"]');
      box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); event.preventDefault();
    } else if (event.key === "/") {
      var search = document.querySelector("[data-shortcut='/']");
      if (search) { search.focus(); event.preventDefault(); }
    } else if (event.key === "r") {
      var body = document.getElementById("id_body");
      if (body) { body.focus(); event.preventDefault(); }
    } else if (event.key === "g") {
      pendingG = true; setTimeout(function () { pendingG = false; }, 800); return;
    } else if (event.key === "q" && pendingG) {
      window.location.href = "/desk/";
    }
    pendingG = false;
  });

  /* --- ticket: typing presence and canned responses --------------------------------------------- */
  var lastInput = 0;
  document.addEventListener("input", function (event) {
    if (event.target.id === "id_body") lastInput = Date.now();
  });
  window.deskActivity = function () {
    return Date.now() - lastInput < 15000 ? "typing" : "viewing";
  };

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.id !== "id_macro" || !select.value) return;
    fetch(select.dataset.macroUrl + select.value + "/", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { if (!response.ok) throw new Error(response.statusText); return response.json(); })
      .then(function (macro) {
        var body = document.getElementById("id_body");
        body.value = body.value.trim() ? body.value.replace(/\s+$/, "") + "\n\n" + macro.body : macro.body;
        body.focus();
        lastInput = Date.now();
        if (macro.set_status) {
          var button = document.querySelector('#reply button[name="submit_as"][value="' + macro.set_status + '"]');
          if (button) button.classList.add("is-suggested");
        }
      })
      .catch(function () { /* the Insert button still works without this */ });
  });

  /* --- SLA countdowns ---------------------------------------------------------------------------- */
  function format(seconds) {
    var overdue = seconds < 0, rest = Math.abs(Math.floor(seconds));
    var d = Math.floor(rest / 86400), h = Math.floor((rest % 86400) / 3600), m = Math.floor((rest % 3600) / 60);
    var text = d ? d + "d " + h + "h" : h ? h + "h " + String(m).padStart(2, "0") + "m" : m + "m";
    return overdue ? text + " overdue" : text + " left";
  }
  function tick() {
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var left = (due - Date.now()) / 1000;
      var text = el.querySelector(".sla-text");
      if (text) text.textContent = format(left);
      if (left <= 0) { el.classList.remove("sla-ok", "sla-warning"); el.classList.add("sla-breached"); }
      else if (el.dataset.warn && Date.parse(el.dataset.warn) <= Date.now()) { el.classList.remove("sla-ok"); el.classList.add("sla-warning"); }
    });
  }
  var timer = null;
  function startCountdowns() {
    if (!timer && document.querySelector("[data-due]")) { tick(); timer = setInterval(tick, 15000); }
  }

  /* --- ticket: remote images of one message, on request (without JS the link reloads the page) --- */
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.show-remote-images");
    if (!link) return;
    var article = link.closest("article");
    if (!article) return;
    event.preventDefault();
    article.querySelectorAll(".msg-body img[data-remote-src]").forEach(function (img) {
      img.src = img.getAttribute("data-remote-src");
      img.removeAttribute("data-remote-src");
      img.classList.remove("remote-image-blocked");
    });
    link.closest(".remote-images-notice").remove();
  });

  document.addEventListener("DOMContentLoaded", function () {
    startCountdowns();
    var select = document.getElementById("id_macro");
    if (select) {
      var insert = select.parentElement.querySelector('button[name="insert_macro"]');
      if (insert) insert.hidden = true;
    }
  });
})();
