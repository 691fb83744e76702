// The list of rollouts in a namespace: cards or a table, search, status
// filters with counts, "needs attention", favourites, and the actions.
import { root, watchList } from './api.js';
import { h, replace, age, morph } from './dom.js';
import { actionBar, badge, progress, stepText } from './status.js';

const statuses = ['Progressing', 'Paused', 'Degraded', 'Healthy'];

const prefs = {
  get mode() { return localStorage.getItem('aviary.view') || 'grid'; },
  set mode(v) { localStorage.setItem('aviary.view', v); },
  favourites() { return new Set(JSON.parse(localStorage.getItem('aviary.favourites') || '[]')); },
  toggleFavourite(key) {
    const f = this.favourites();
    if (f.has(key)) f.delete(key); else f.add(key);
    localStorage.setItem('aviary.favourites', JSON.stringify([...f]));
  },
};

const collator = new Intl.Collator();

// Cards go into grids of chunk cards each: a card that changes makes only
// its grid lay itself out again, not one grid of thousands. Divisible by
// every column count up to 6, so the grids line up as one.
const chunk = 120;
const keyOf = (r) => `${r.namespace}/${r.name}`;

/**
 * measure records how long drawing took as a User Timing measure (seen in
 * the browser's performance tools), keeping only the latest of each name
 * so a page left open does not collect them forever.
 */
function measure(name, start, rows) {
  performance.clearMeasures(name);
  performance.measure(name, { start, detail: { rows } });
}

/**
 * showList renders the list of ns into el and keeps it live; it returns a
 * stop function. The watch sends the whole list once, then only the rows
 * that changed: those are replaced, inserted or removed in place, so an
 * update costs the rows it touches, not the thousands on the page.
 */
export function showList(el, ns, navigate) {
  const state = { rollouts: null, search: '', filter: '', error: null };
  // What the body shows: the keys in display order, their elements, and
  // the element new rows go into (null while a message stands instead).
  const shown = { keys: [], els: new Map(), parent: null, mode: null };
  let favs = prefs.favourites();
  // The search box stays in place across redraws so it keeps focus.
  const chips = h('div', { class: 'chips', role: 'group', 'aria-label': 'Filter by status' });
  const toggle = h('div', { class: 'view-toggle', role: 'group', 'aria-label': 'Layout' });
  const toolbar = h('div', { class: 'toolbar' });
  const body = h('section', { class: 'list-body', 'aria-live': 'polite' });
  const banner = h('div', { class: 'banner-slot' });
  replace(el, h('h1', { class: 'page-title' }, 'Rollouts ', h('span', { class: 'muted' }, `in ${ns}`)), banner, toolbar, body);

  const search = h('input', {
    id: 'search', type: 'search', placeholder: 'Search by name  ( / )', 'aria-label': 'Search rollouts by name', autocomplete: 'off',
    oninput: () => { state.search = search.value.trim().toLowerCase(); draw(); },
  });
  const onKey = (e) => {
    if (e.key === '/' && document.activeElement !== search) { e.preventDefault(); search.focus(); }
    if (e.key === 'Escape' && document.activeElement === search) { search.value = ''; state.search = ''; draw(); search.blur(); }
  };
  document.addEventListener('keydown', onKey);
  toolbar.append(search, chips, toggle);

  function link(r) {
    const href = `${root}/rollout/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`;
    return h('a', {
      href, class: 'rollout-link', dataset: { testid: 'rollout-link' },
      onclick: (e) => { if (e.button === 0 && !e.metaKey && !e.ctrlKey) { e.preventDefault(); navigate(href); } },
    }, r.name);
  }

  function star(r) {
    const key = keyOf(r);
    const on = favs.has(key);
    return h('button', {
      class: `star${on ? ' on' : ''}`, 'aria-pressed': on ? 'true' : 'false', title: on ? 'Unfavourite' : 'Favourite',
      onclick: (e) => { e.stopPropagation(); prefs.toggleFavourite(key); favs = prefs.favourites(); draw(); },
    }, on ? '★' : '☆');
  }

  function matches(r) {
    if (state.search && !r.name.toLowerCase().includes(state.search)) return false;
    if (state.filter === 'attention') return !!r.attention;
    if (state.filter === 'favourites') return favs.has(keyOf(r));
    if (state.filter) return r.status === state.filter;
    return true;
  }

  /** order is the display order: favourites first, then by name. */
  const order = (a, b) => (favs.has(keyOf(b)) - favs.has(keyOf(a))) || collator.compare(a.name, b.name);

  // The chips drawn, and their count elements by filter, so an update
  // only rewrites the counts while the set of statuses stays the same.
  let chipFilters = '';
  const countEls = new Map();

  function drawToolbar(all) {
    const n = new Map();
    const add = (f) => n.set(f, (n.get(f) ?? 0) + 1);
    for (const r of all) {
      add(r.status);
      if (r.attention) add('attention');
      if (favs.has(keyOf(r))) add('favourites');
    }
    const others = [...new Set(all.map((r) => r.status))].filter((s) => !statuses.includes(s));
    const filters = ['attention', ...statuses, ...others, 'favourites'];
    const count = (f) => String(n.get(f) ?? 0);
    if (filters.join('\n') === chipFilters) {
      for (const [f, c] of countEls) if (c.textContent !== count(f)) c.textContent = count(f);
      return;
    }
    chipFilters = filters.join('\n');
    countEls.clear();
    const chip = (f, label) => {
      const c = h('span', { class: 'count', dataset: { count: '' } }, count(f));
      countEls.set(f, c);
      return h('button', {
        class: `chip${state.filter === f ? ' on' : ''}${f === 'attention' ? ' attention' : ''}`, dataset: { filter: f }, 'aria-pressed': state.filter === f ? 'true' : 'false',
        onclick: () => { state.filter = state.filter === f ? '' : f; chipFilters = ''; draw(); },
      }, label, ' ', c);
    };
    replace(chips,
      chip('attention', '⚑ Needs attention'),
      [...statuses, ...others].map((s) => chip(s, s)),
      chip('favourites', '★'));
  }

  function drawToggle() {
    const mode = prefs.mode;
    replace(toggle,
        h('button', { id: 'view-grid', class: `btn small${mode === 'grid' ? ' on' : ''}`, 'aria-pressed': mode === 'grid' ? 'true' : 'false', onclick: () => { prefs.mode = 'grid'; draw(); } }, '▦ Cards'),
        h('button', { id: 'view-table', class: `btn small${mode === 'table' ? ' on' : ''}`, 'aria-pressed': mode === 'table' ? 'true' : 'false', onclick: () => { prefs.mode = 'table'; draw(); } }, '☰ Table'));
  }

  function weights(r) {
    if (r.strategy !== 'Canary') return null;
    return [
      h('span', { class: 'kv' }, h('span', { class: 'k' }, 'Set'), h('span', { class: 'v', dataset: { field: 'set-weight' } }, `${r.setWeight ?? 0}%`)),
      h('span', { class: 'kv' }, h('span', { class: 'k' }, 'Actual'), h('span', { class: 'v', dataset: { field: 'actual-weight' } }, `${r.actualWeight ?? 0}%`)),
    ];
  }

  function card(r) {
    return h('article', { class: `card ${r.attention ? 'needs-attention' : ''}`, dataset: { testid: 'rollout-card', name: r.name } },
      h('div', { class: 'card-head' }, badge(r.status, { dataset: { field: 'status' } }), link(r), star(r)),
      r.attention ? h('p', { class: 'attention-text', title: r.message || '' }, '⚑ ', r.attention) : null,
      h('div', { class: 'card-facts' },
        h('span', { class: 'kv' }, h('span', { class: 'k' }, 'Strategy'), h('span', { class: 'v', dataset: { field: 'strategy' } }, r.strategy || '—')),
        r.stepCount ? h('span', { class: 'kv' }, h('span', { class: 'k' }, 'Step'), h('span', { class: 'v', dataset: { field: 'step' } }, stepText(r))) : null,
        weights(r),
        h('span', { class: 'kv' }, h('span', { class: 'k' }, 'Pods'), h('span', { class: 'v', dataset: { field: 'pods' } }, `${r.ready}/${r.desired}`))),
      progress(r),
      h('div', { class: 'images' }, (r.images || []).map((i) => h('code', { class: 'image' }, i))),
      actionBar(r, true));
  }

  // The table's parts carry their roles: its CSS lays it out as boxes
  // (see style.css), which would otherwise hide them from screen readers.
  function tableRow(r) {
    const cell = (attrs, ...content) => h('td', { role: 'cell', ...attrs }, ...content);
    return h('tr', { role: 'row', dataset: { testid: 'rollout-row', name: r.name }, class: r.attention ? 'needs-attention' : '' },
      cell({}, star(r)),
      cell({}, link(r)),
      cell({}, badge(r.status, { dataset: { field: 'status' } })),
      cell({ dataset: { field: 'strategy' } }, r.strategy || '—'),
      cell({ dataset: { field: 'step' } }, stepText(r) || '—'),
      cell({ dataset: { field: 'set-weight' } }, r.strategy === 'Canary' ? `${r.setWeight ?? 0}%` : '—'),
      cell({ dataset: { field: 'actual-weight' } }, r.strategy === 'Canary' ? `${r.actualWeight ?? 0}%` : '—'),
      cell({ dataset: { field: 'pods' } }, `${r.ready}/${r.desired}`),
      cell({ class: 'muted' }, age(r.creationTimestamp)),
      cell({}, actionBar(r, true)));
  }

  const item = (r) => (shown.mode === 'table' ? tableRow(r) : card(r));

  /** draw renders everything anew: on the snapshot and on the person's changes (search, filter, layout, favourites). */
  function drawBanner() {
    replace(banner, state.error ? h('div', { class: 'banner error', role: 'alert' }, state.error) : null);
  }

  function draw(start = performance.now()) {
    drawBanner();
    shown.keys = [];
    shown.els.clear();
    shown.parent = null;
    if (!state.rollouts) {
      if (!state.error) replace(body, h('p', { class: 'loading' }, 'Loading…'));
      return;
    }
    const all = [...state.rollouts.values()];
    drawToolbar(all);
    drawToggle();
    const list = all.filter(matches).sort(order);
    if (all.length === 0) {
      replace(body, h('div', { class: 'empty' }, h('p', {}, `No rollouts in namespace ${ns}.`), h('p', { class: 'muted' }, 'Pick another namespace above, or create one with kubectl apply -f.')));
      return;
    }
    if (list.length === 0) {
      replace(body, h('div', { class: 'empty' }, h('p', {}, 'No rollout matches the search and filter.')));
      return;
    }
    shown.mode = prefs.mode;
    const els = list.map((r) => {
      const e = item(r);
      shown.els.set(keyOf(r), e);
      return e;
    });
    shown.keys = list.map(keyOf);
    if (shown.mode === 'table') {
      shown.parent = h('tbody', { role: 'rowgroup' }, els);
      replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'rollouts', role: 'table' },
        h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, ['', 'Name', 'Status', 'Strategy', 'Step', 'Set', 'Actual', 'Pods', 'Age', 'Actions'].map((c) => h('th', { scope: 'col', role: 'columnheader' }, c)))),
        shown.parent)));
    } else {
      const grids = [];
      for (let i = 0; i < els.length; i += chunk) grids.push(h('div', { class: 'grid' }, els.slice(i, i + chunk)));
      shown.parent = h('div', { class: 'cards' }, grids);
      replace(body, shown.parent);
    }
    measure('aviary:list-render', start, list.length);
  }

  function hide(key) {
    const e = shown.els.get(key);
    if (!e) return;
    const box = e.parentNode;
    e.remove();
    shown.els.delete(key);
    shown.keys.splice(shown.keys.indexOf(key), 1);
    rebalance(box);
  }

  /**
   * rebalance refills the card grids from grid on after a card came or
   * went, so that every grid but the last holds chunk cards and no row
   * ends short in the middle of the list.
   */
  function rebalance(grid) {
    if (shown.mode === 'table') return;
    for (let g = grid; g; g = g.nextElementSibling) {
      const next = g.nextElementSibling;
      if (g.childElementCount > chunk) {
        (next ?? shown.parent.appendChild(h('div', { class: 'grid' }))).prepend(g.lastElementChild);
      } else if (g.childElementCount < chunk && next) {
        g.append(next.firstElementChild);
        if (!next.firstElementChild) next.remove();
      } else {
        return;
      }
    }
  }

  /** place shows r where it belongs, or hides it if it no longer matches. */
  function place(r) {
    const key = keyOf(r);
    const old = shown.els.get(key);
    if (!matches(r)) {
      hide(key);
      return;
    }
    const e = item(r);
    if (old) {
      // The row's listeners depend on its namespace and name alone.
      morph(old, e);
      return;
    }
    shown.els.set(key, e);
    // The first shown row that comes after r, by binary search.
    let lo = 0, hi = shown.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(state.rollouts.get(shown.keys[mid]), r) < 0) lo = mid + 1; else hi = mid;
    }
    const after = shown.els.get(shown.keys[lo]);
    const box = after?.parentNode ?? (shown.mode === 'table' ? shown.parent : shown.parent.lastElementChild);
    box.insertBefore(e, after ?? null);
    shown.keys.splice(lo, 0, key);
    rebalance(box);
  }

  function onSnapshot(data, at) {
    const fresh = new Map(data.rollouts.map((r) => [keyOf(r), r]));
    const drawn = state.rollouts && shown.parent;
    state.rollouts = fresh;
    const recovered = state.error !== null;
    state.error = null;
    if (!drawn) {
      draw(at);
      return;
    }
    // A snapshot after a reconnect mostly repeats what is shown: the rows
    // change in place, as for a delta, so that the element a person is
    // pointing at or clicking stays the same (a row replaced between a
    // mouse press and its release takes no click).
    for (const k of [...shown.keys]) if (!fresh.has(k)) hide(k);
    for (const r of fresh.values()) place(r);
    if (shown.keys.length === 0) draw(at); else drawToolbar([...fresh.values()]);
    if (recovered) drawBanner();
    measure('aviary:list-apply', at, fresh.size);
  }

  function onDelta(d, at) {
    const upserts = [...(d.added ?? []), ...(d.changed ?? [])];
    for (const k of d.removed ?? []) state.rollouts.delete(keyOf(k));
    for (const r of upserts) state.rollouts.set(keyOf(r), r);
    if (!shown.parent) {
      // A message stands where rows would go: draw the rows afresh.
      draw();
    } else {
      for (const k of d.removed ?? []) hide(keyOf(k));
      for (const r of upserts) place(r);
      if (shown.keys.length === 0) draw(); else drawToolbar([...state.rollouts.values()]);
    }
    measure('aviary:list-apply', at, upserts.length + (d.removed?.length ?? 0));
  }

  draw();
  const stopWatch = watchList(ns, onSnapshot, onDelta, (err) => {
    if (err === undefined) { if (state.error) { state.error = null; drawBanner(); } return; }
    state.error = err === null ? 'Lost the connection to the dashboard server; retrying…' : err;
    // The rows stay under the banner; without any yet, the banner is all there is.
    if (state.rollouts) drawBanner(); else draw();
  });
  return () => { stopWatch(); document.removeEventListener('keydown', onKey); };
}
