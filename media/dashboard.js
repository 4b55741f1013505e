// The aggregate dashboard: draws the data its host gives it. Two hosts, one page:
// - in VS Code, a webview (src/vscode/dashboard.ts) posts the data and takes the page's messages;
// - in a browser, `planctl serve` (src/server/browserDashboard.ts) serves this page at /: the data comes
//   from GET /api/dashboard, each message of the /api/events WebSocket says it changed, and start and
//   stop go to the REST endpoints. The session cookie of the login link authenticates all three.
// Plain browser JS, like schedule.js: nothing to bundle, and every number comes from the host (both
// build it with src/run/events/dashboardModel.ts); this file only ticks the elapsed times in between.
(function () {
  'use strict';

  const host = typeof acquireVsCodeApi === 'function' ? vscodeHost(acquireVsCodeApi()) : browserHost();
  const app = document.getElementById('app') || document.body.appendChild(document.createElement('main'));

  let data = host.saved();
  // Elapsed times count from the host's clock when it sent the data, so a skewed page clock does not matter.
  let postedAt = Date.now();
  // What the last action said went wrong (the browser host; VS Code shows its own notifications).
  let notice = '';

  /** The webview: data arrives as posted messages, the page's actions go back the same way. */
  function vscodeHost(vscode) {
    return {
      saved: () => (vscode.getState() || {}).data,
      save: (d) => vscode.setState({ data: d }),
      send: (message) => vscode.postMessage(message),
      connect(receive) {
        window.addEventListener('message', (event) => {
          const message = event.data;
          if (message && message.type === 'render') receive(message.data);
        });
        vscode.postMessage({ type: 'ready' });
      },
    };
  }

  /** A page of `planctl serve`: the API, with the session cookie (never the token). */
  function browserHost() {
    // Events come in bursts while agents work: the data is fetched at most this often, the first of a burst at once.
    const THROTTLE_MS = 250;
    // The messages of one status read (task, task.activity, plan.status) arrive together: one fetch for them all,
    // so that no trailing fetch holds the next change back by the throttle.
    const SETTLE_MS = 10;
    let receive = () => undefined;
    let timer;
    let lastFetch = 0;
    let retryMs = 1000;
    let signedOut = false;

    async function refresh() {
      lastFetch = Date.now();
      const res = await fetch('/api/dashboard', { headers: { accept: 'application/json' } });
      if (res.status === 401) return signOut();
      if (!res.ok) throw new Error(`the dashboard data could not be loaded (HTTP ${res.status})`);
      receive(await res.json());
    }
    function schedule() {
      if (timer || signedOut) return;
      timer = setTimeout(() => {
        timer = undefined;
        refresh().catch((e) => say(e.message));
      }, Math.max(SETTLE_MS, lastFetch + THROTTLE_MS - Date.now()));
    }
    function signOut() {
      signedOut = true;
      say('Signed out (the server was restarted, or the sign-in ended): open a new login link from planctl serve.');
    }
    function listen() {
      const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events`, ['plan-api.v1']);
      socket.addEventListener('open', () => (retryMs = 1000));
      // Any message, the snapshot of a new connection included, means the data may have changed.
      socket.addEventListener('message', schedule);
      socket.addEventListener('close', () => {
        if (signedOut) return;
        // The refresh tells a signed-out page (401) from a server that went away for a moment.
        schedule();
        setTimeout(listen, retryMs);
        retryMs = Math.min(retryMs * 2, 30_000);
      });
    }
    /** POSTs an action; a start the server wants confirmed (gate commands, the main checkout, uncommitted changes) is asked about and sent again. */
    async function act(name, verb, body) {
      const res = await fetch(`/api/plans/${encodeURIComponent(name)}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.ok) {
        say('');
        return schedule();
      }
      if (res.status === 401) return signOut();
      const error = ((await res.json().catch(() => ({}))) || {}).error || {};
      const again = {
        'commands-not-approved': () => ({ approveCommands: error.commands || [] }),
        'in-place-required': () => ({ inPlace: true }),
        'checkout-dirty': () => ({ allowDirty: true }),
      }[error.code];
      if (verb === 'start' && again && window.confirm(`${error.message}\n\nStart anyway?`)) return act(name, verb, { ...body, ...again() });
      say(error.message || `${verb} failed (HTTP ${res.status})`);
    }
    return {
      saved: () => undefined,
      save: () => undefined,
      send(message) {
        // A card opens its plan's orchestrator log in a new tab (what the VS Code host opens is the plan file).
        if (message.type === 'open') return void window.open(`/api/plans/${encodeURIComponent(message.key)}/logs`, '_blank', 'noopener');
        const name = message.type === 'startPlan' ? message.file : message.key;
        const verb = message.type === 'stop' ? 'stop' : message.type === 'start' || message.type === 'startPlan' ? 'start' : undefined;
        if (verb) act(name, verb, {}).catch((e) => say(e.message));
      },
      connect(r) {
        receive = r;
        refresh().catch((e) => say(e.message));
        listen();
      },
    };
  }

  /** Shows (or, with '', clears) a line about what went wrong, and redraws so disabled buttons come back. */
  function say(text) {
    notice = text;
    render();
  }

  function el(tag, attrs, parent, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === undefined || v === null) continue;
      // The page's content security policy blocks style attributes; properties set from script are allowed.
      if (k === 'width') node.style.width = String(v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function elapsed(ms) {
    if (!(ms >= 0)) return '';
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
    return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
  }

  function nowMs() {
    return Date.parse(data.now) + (Date.now() - postedAt);
  }

  function timeOfDay(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function progressBar(parent, p, label) {
    const bar = el('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': p.total, 'aria-valuenow': p.done, 'aria-label': label }, parent);
    const pct = (n) => (p.total ? (100 * n) / p.total : 0);
    el('div', { class: 'fill done', width: `${pct(p.done)}%` }, bar);
    el('div', { class: 'fill running', width: `${pct(p.running)}%` }, bar);
    el('div', { class: 'fill failed', width: `${pct(p.failed)}%` }, bar);
    return bar;
  }

  const STATUS_LABEL = { pending: 'reset', in_progress: 'started', completed: 'completed', failed: 'failed', skipped: 'skipped' };

  function counts(p) {
    const tasks = `${p.done}/${p.total} task${p.total === 1 ? '' : 's'}`;
    return p.checks && p.checks.total ? `${tasks} · ${p.checks.done}/${p.checks.total} check${p.checks.total === 1 ? '' : 's'}` : tasks;
  }

  // Enter or Space on a focused element that is not a button does what a click does.
  function activate(node, action) {
    node.addEventListener('click', action);
    node.addEventListener('keydown', (e) => {
      if (e.target !== node || (e.key !== 'Enter' && e.key !== ' ')) return;
      e.preventDefault();
      action(e);
    });
  }

  // What had the focus before a redraw gets it back after: a redraw every few seconds must not
  // throw a keyboard user back to the top of the page.
  function focusKey() {
    const a = document.activeElement;
    return a && a.dataset && a.dataset.focus;
  }

  function render() {
    const focused = focusKey();
    app.textContent = '';
    if (!data) {
      el('p', { class: notice ? 'notice' : 'empty' }, app, notice || 'Loading…');
      return;
    }
    const header = el('header', { class: 'summary' }, app);
    const heading = el('div', { class: 'heading' }, header);
    el('h1', {}, heading, 'All plans');
    const t = data.total;
    el(
      'span',
      { class: 'counts' },
      heading,
      `${t.done}/${t.total} tasks done (${t.percent}%) · ${t.plans} plan${t.plans === 1 ? '' : 's'}${t.running ? ` · ${t.running} running` : ''}${t.failed ? ` · ${t.failed} failed` : ''}`,
    );
    startControl(heading);
    progressBar(header, t, 'All plans');
    if (!data.trusted) el('p', { class: 'notice' }, header, 'This workspace is not trusted: orchestrators cannot be started or stopped from here.');
    if (notice) el('p', { class: 'notice', role: 'alert' }, header, notice);

    const panes = el('section', { class: 'panes', 'aria-label': 'Plans' }, app);
    if (!data.plans.length) el('p', { class: 'empty' }, panes, 'No active plans yet: start one above, or create a plan worktree.');
    for (const p of data.plans) pane(panes, p);
    if (focused) {
      const again = app.querySelector(`[data-focus="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  /** "Start a plan…": any plan of the workspace, not only the active ones. */
  function startControl(parent) {
    const plans = data.workspacePlans || [];
    if (!plans.length) return;
    const form = el('form', { class: 'start-plan' }, parent);
    el('label', { for: 'start-plan' }, form, 'Start a plan');
    const select = el('select', { id: 'start-plan', 'data-focus': 'start-plan', disabled: !data.trusted }, form);
    el('option', { value: '' }, select, 'Choose a plan…');
    for (const p of plans) el('option', { value: p.file, title: p.path }, select, `${p.title} — ${p.path}`);
    const go = el('button', { type: 'submit', 'data-focus': 'start-plan-go', disabled: !data.trusted, title: data.trusted ? 'Start the orchestrator for this plan' : 'Requires a trusted workspace' }, form, 'Start');
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!select.value) {
        select.focus();
        return;
      }
      go.disabled = true;
      host.send({ type: 'startPlan', file: select.value });
    });
  }

  function pane(parent, p) {
    // A card is one stop for the keyboard: Tab reaches it, Enter or Space opens the plan; its buttons follow.
    // (A browser has no editor to open the plan in: there the card is not a control.)
    const canOpen = data.canOpen !== false;
    const card = el('article', { class: `pane${p.orchestrator ? ' live' : ''}${p.failed ? ' has-failures' : ''}`, tabindex: canOpen ? 0 : undefined, 'aria-label': `${p.title}: ${counts(p)}`, 'data-focus': `card:${p.key}` }, parent);
    if (canOpen) activate(card, () => host.send({ type: 'open', key: p.key }));
    const top = el('div', { class: 'pane-top' }, card);
    const titles = el('div', { class: 'titles' }, top);
    el('h2', { class: 'title', title: p.title }, titles, p.title);
    el('span', { class: 'where' }, titles, [p.branch, p.where].filter(Boolean).join(' · '));
    const actions = el('div', { class: 'actions' }, top);
    const button = el(
      'button',
      { type: 'button', class: p.orchestrator ? 'stop' : 'start', disabled: !data.trusted, title: data.trusted ? '' : 'Requires a trusted workspace', 'data-focus': `button:${p.key}` },
      actions,
      p.orchestrator ? 'Stop' : 'Start',
    );
    button.addEventListener('click', (e) => {
      e.stopPropagation();
      button.disabled = true;
      host.send({ type: p.orchestrator ? 'stop' : 'start', key: p.key });
    });
    button.addEventListener('keydown', (e) => e.stopPropagation());

    const countsRow = el('div', { class: 'pane-counts' }, card);
    const figures = el('span', {}, countsRow);
    el('span', { class: 'big' }, figures, `${p.done}/${p.total}`);
    el('span', {}, figures, ` tasks · ${p.percent}%${p.checks && p.checks.total ? ` · ${p.checks.done}/${p.checks.total} checks` : ''}`);
    const state = el('span', { class: `state ${p.orchestrator ? 'on' : 'off'}` }, countsRow, p.orchestrator ? `● orchestrator running · pid ${p.orchestrator.pid}` : '○ no orchestrator');
    if (p.orchestrator && p.orchestrator.startedAt) state.title = `since ${new Date(p.orchestrator.startedAt).toLocaleString()}`;
    progressBar(card, p, p.title);
    if (p.error) el('p', { class: 'error' }, card, p.error);

    if (p.runningTasks.length) {
      const ul = el('ul', { class: 'tasks running' }, card);
      for (const task of p.runningTasks) {
        const li = el('li', {}, ul);
        el('span', { class: 'icon spin', 'aria-hidden': 'true' }, li, '⟳');
        el('span', { class: 'id' }, li, task.id);
        el('span', { class: 'name', title: task.title }, li, task.title);
        if (task.startedAt) el('span', { class: 'elapsed', 'data-started': task.startedAt }, li, elapsed(nowMs() - Date.parse(task.startedAt)));
        // The cost beside the elapsed time; the activity below, on its own line.
        if (task.costUsd) el('span', { class: 'cost' }, li, `$${task.costUsd.toFixed(2)}`);
        if (task.host) el('span', { class: 'cost', title: 'the worker running it' }, li, `on ${task.host}`);
        if (task.activity) el('span', { class: 'activity', title: task.activity }, li, task.activity);
      }
    }
    if (p.failedTasks.length) {
      const ul = el('ul', { class: 'tasks failed' }, card);
      for (const task of p.failedTasks) {
        const li = el('li', {}, ul);
        el('span', { class: 'icon', 'aria-hidden': 'true' }, li, '✕');
        el('span', { class: 'id' }, li, task.id);
        el('span', { class: 'name', title: task.title }, li, task.title);
        if (task.error) el('span', { class: 'reason', title: task.error }, li, task.error);
      }
    }
    if (!p.runningTasks.length && !p.failedTasks.length && !p.error) {
      el('p', { class: 'quiet' }, card, p.total && p.done === p.total ? 'All tasks done.' : 'Nothing running.');
    }
    feed(card, p);
  }

  /** The plan's own feed: one line per status change, newest first. */
  function feed(card, p) {
    if (!p.activity || !p.activity.length) return;
    const details = el('details', { class: 'feed', open: true }, card);
    const summary = el('summary', { 'data-focus': `feed:${p.key}` }, details, 'Activity');
    summary.addEventListener('keydown', (e) => e.stopPropagation());
    summary.addEventListener('click', (e) => e.stopPropagation());
    const list = el('ol', {}, details);
    for (const a of p.activity) {
      const text = `${a.id} ${STATUS_LABEL[a.status] || a.status}${a.title ? ` — ${a.title}` : ''}${a.note ? ` (${a.note})` : ''}`;
      const li = el('li', { class: `status-${a.status}`, title: text }, list);
      el('time', { datetime: a.at, title: new Date(a.at).toLocaleString() }, li, timeOfDay(a.at));
      el('span', { class: 'dot', 'aria-hidden': 'true' }, li);
      const line = el('span', { class: 'text' }, li);
      el('span', { class: 'what' }, line, `${a.id} ${STATUS_LABEL[a.status] || a.status}`);
      if (a.title) el('span', { class: 'task-title' }, line, ` — ${a.title}`);
      if (a.note) el('span', { class: 'note' }, line, ` (${a.note})`);
    }
  }

  function tick() {
    if (!data) return;
    for (const span of app.querySelectorAll('.elapsed[data-started]')) span.textContent = elapsed(nowMs() - Date.parse(span.dataset.started));
  }

  host.connect((next) => {
    data = next;
    postedAt = Date.now();
    host.save(data);
    render();
  });
  setInterval(tick, 1000);
  render();
})();
