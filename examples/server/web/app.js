// The projector page: a snapshot, then updates, over Server-Sent Events (/events).
// Every value is put in the page as text (textContent), never as HTML.
'use strict';

const SHOWN = 300; // rows drawn at most (newest first); the rest are counted
const clients = new Map(); // id -> entry, as the server sends it
let source = null;

function $(id) { return document.getElementById(id); }

function cell(row, value, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  td.textContent = value == null ? '' : String(value);
  row.appendChild(td);
}

function time(rfc3339) {
  const date = new Date(rfc3339);
  return isNaN(date) ? rfc3339 : date.toLocaleTimeString([], { hour12: false });
}

function render() {
  const entries = [...clients.values()].sort((a, b) => b.id - a.id);
  const tbody = document.createElement('tbody');
  tbody.id = 'clients';
  for (const c of entries.slice(0, SHOWN)) {
    const tr = document.createElement('tr');
    tr.dataset.id = c.id;
    tr.className = c.state + (c.identified ? '' : ' anonymous');
    cell(tr, c.id, 'id');
    cell(tr, c.name, 'name');
    cell(tr, c.sid, 'sid');
    cell(tr, c.github, 'github');
    cell(tr, time(c.connected_at), 'time');
    cell(tr, c.state, 'state');
    cell(tr, c.messages, 'num');
    cell(tr, c.details, 'details');
    tbody.appendChild(tr);
  }
  $('clients').replaceWith(tbody);
  const count = (state) => entries.filter((c) => c.state === state).length;
  $('counts').textContent = `${count('identified')} identified · ${count('connected')} connected, not identified yet · ${count('gone')} gone`;
  $('more').textContent = entries.length > SHOWN ? `and ${entries.length - SHOWN} more (oldest)` : '';
}

function live(up) {
  const status = $('status');
  status.textContent = up ? 'live' : 'reconnecting…';
  status.className = 'status ' + (up ? 'up' : 'down');
}

function connect() {
  source = new EventSource('/events');
  source.addEventListener('snapshot', (e) => {
    const snapshot = JSON.parse(e.data);
    clients.clear();
    for (const c of snapshot.clients) clients.set(c.id, c);
    $('lab').textContent = snapshot.lab.join('  ·  ');
    $('warning').textContent = snapshot.warning || '';
    $('warning').hidden = !snapshot.warning;
    live(true);
    render();
  });
  source.addEventListener('update', (e) => {
    const update = JSON.parse(e.data);
    for (const id of update.removed) clients.delete(id);
    for (const c of update.clients) clients.set(c.id, c);
    render();
  });
  source.onerror = () => {
    live(false);
    // The browser retries by itself unless the stream was refused (e.g. 503): then we do.
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, 1000);
    }
  };
}

connect();
