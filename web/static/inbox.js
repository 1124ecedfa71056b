// The inbox refreshes itself: the list of conversations (#inbox) and an open conversation's messages
// (#messages) are fetched again every few seconds from the app's own .json routes and redrawn when they
// changed. Text is only ever set as text (never as markup): customers' words cannot inject anything.
(function () {
  "use strict";

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function when(iso) { return (iso || "").slice(0, 16).replace("T", " "); }

  function poll(container, draw) {
    var url = container.getAttribute("data-feed");
    var seconds = Number(container.getAttribute("data-poll-seconds")) || 5;
    var last = null;
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var seen = JSON.stringify(data);
          if (seen !== last) { draw(data); }  // the first answer too: a message may have come since the page
          last = seen;
        })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { window.setTimeout(tick, seconds * 1000); });
    }
    tick();
  }

  function drawList(table, data) {
    var body = table.querySelector("tbody");
    var rows = document.createDocumentFragment();
    data.conversations.forEach(function (c) {
      var row = el("tr", "", c.needs_person ? "needs-person" : "");
      row.id = "c-" + c.id;
      var who = el("td");
      var link = el("a", c.customer.name || c.customer.phone);
      link.href = c.url;
      who.appendChild(link);
      who.appendChild(el("br"));
      who.appendChild(el("small", c.customer.phone, "muted"));
      (c.labels || []).forEach(function (name) {
        who.appendChild(document.createTextNode(" "));
        who.appendChild(el("span", name, "label"));
      });
      row.appendChild(who);
      var last = el("td");
      if (c.last_message) {
        last.appendChild(el("span", c.last_message.who + ":", "who-" + c.last_message.who));
        last.appendChild(document.createTextNode(" " + (c.last_message.text || "").slice(0, 120)));
      }
      row.appendChild(last);
      var order = el("td");
      if (c.order) {
        order.appendChild(document.createTextNode(c.order.reference + " "));
        order.appendChild(el("small", c.order.status, "muted"));
      }
      row.appendChild(order);
      var holder = el("td");
      if (c.taken_over) { holder.textContent = c.taken_over.by; }
      else if (c.needs_person) { holder.appendChild(el("strong", "needs a person")); }
      else { holder.textContent = "Grace"; }
      row.appendChild(holder);
      row.appendChild(el("td", when(c.last_activity_at)));
      rows.appendChild(row);
    });
    if (!data.conversations.length) {
      var empty = el("tr", "", "empty");
      var cell = el("td", "No conversation yet.", "muted");
      cell.colSpan = 5;
      empty.appendChild(cell);
      rows.appendChild(empty);
    }
    body.replaceChildren(rows);
  }

  function drawMessages(chat, data) {
    var turns = document.createDocumentFragment();
    data.messages.forEach(function (m) {
      var turn = el("p", "", "turn " + (m.who === "person" ? "ops" : m.who));
      turn.appendChild(el("span", when(m.at), "when"));
      if (m.who === "person") { turn.appendChild(el("span", (m.author || "") + ": ", "by")); }
      if (m.held) { turn.appendChild(el("span", "(kept for the team) ", "muted")); }
      if (m.image && /^https?:\/\//.test(m.image)) {
        var picture = el("img", "", "picture");
        picture.src = m.image;
        picture.alt = "picture";
        turn.appendChild(picture);
      }
      turn.appendChild(document.createTextNode(m.text || ""));
      turns.appendChild(turn);
    });
    chat.replaceChildren(turns);
    var holder = document.getElementById("holder");
    var taken = data.conversation.taken_over;
    if (holder && Boolean(taken) !== holder.hasAttribute("data-taken")) {
      window.location.reload();  // taken over or handed back elsewhere: the forms below change
    }
  }

  var table = document.getElementById("inbox");
  if (table) { poll(table, function (data) { drawList(table, data); }); }
  var chat = document.getElementById("messages");
  if (chat) { poll(chat, function (data) { drawMessages(chat, data); }); }
}());
