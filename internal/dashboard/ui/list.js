// The list of rollouts in a namespace: cards or a table, search, status
// filters with counts, "needs attention", favourites, and the actions.
import { root, watchList } from './api.js';
import { h, replace, age } from './dom.js';
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

/** showList renders the list of ns into el and keeps it live; it returns a stop function. */
export function showList(el, ns, navigate) {
  const state = { rollouts: null, search: '', filter: '', error: null };
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
    const key = `${r.namespace}/${r.name}`;
    const on = prefs.favourites().has(key);
    return h('button', {
      class: `star${on ? ' on' : ''}`, 'aria-pressed': on ? 'true' : 'false', title: on ? 'Unfavourite' : 'Favourite',
      onclick: (e) => { e.stopPropagation(); prefs.toggleFavourite(key); draw(); },
    }, on ? '★' : '☆');
  }

  function matches(r) {
    if (state.search && !r.name.toLowerCase().includes(state.search)) return false;
    if (state.filter === 'attention') return !!r.attention;
    if (state.filter === 'favourites') return prefs.favourites().has(`${r.namespace}/${r.name}`);
    if (state.filter) return r.status === state.filter;
    return true;
  }

  function drawToolbar(all) {
    const count = (f) => all.filter((r) => (f === 'attention' ? !!r.attention : f === 'favourites' ? prefs.favourites().has(`${r.namespace}/${r.name}`) : r.status === f)).length;
    const chip = (f, label) => h('button', {
      class: `chip${state.filter === f ? ' on' : ''}${f === 'attention' ? ' attention' : ''}`, dataset: { filter: f }, 'aria-pressed': state.filter === f ? 'true' : 'false',
      onclick: () => { state.filter = state.filter === f ? '' : f; draw(); },
    }, label, ' ', h('span', { class: 'count', dataset: { count: '' } }, String(count(f))));
    const others = [...new Set(all.map((r) => r.status))].filter((s) => !statuses.includes(s));
    const mode = prefs.mode;
    replace(chips,
      chip('attention', '⚑ Needs attention'),
      [...statuses, ...others].map((s) => chip(s, s)),
      chip('favourites', '★'));
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

  function table(list) {
    return h('div', { class: 'table-wrap' }, h('table', { class: 'rollouts' },
      h('thead', {}, h('tr', {}, ['', 'Name', 'Status', 'Strategy', 'Step', 'Set', 'Actual', 'Pods', 'Age', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((r) => h('tr', { dataset: { testid: 'rollout-row', name: r.name }, class: r.attention ? 'needs-attention' : '' },
        h('td', {}, star(r)),
        h('td', {}, link(r)),
        h('td', {}, badge(r.status, { dataset: { field: 'status' } })),
        h('td', { dataset: { field: 'strategy' } }, r.strategy || '—'),
        h('td', { dataset: { field: 'step' } }, stepText(r) || '—'),
        h('td', { dataset: { field: 'set-weight' } }, r.strategy === 'Canary' ? `${r.setWeight ?? 0}%` : '—'),
        h('td', { dataset: { field: 'actual-weight' } }, r.strategy === 'Canary' ? `${r.actualWeight ?? 0}%` : '—'),
        h('td', { dataset: { field: 'pods' } }, `${r.ready}/${r.desired}`),
        h('td', { class: 'muted' }, age(r.creationTimestamp)),
        h('td', {}, actionBar(r, true)))))));
  }

  function draw() {
    replace(banner, state.error ? h('div', { class: 'banner error', role: 'alert' }, state.error) : null);
    if (!state.rollouts) {
      if (!state.error) replace(body, h('p', { class: 'loading' }, 'Loading…'));
      return;
    }
    const all = state.rollouts;
    drawToolbar(all);
    const favs = prefs.favourites();
    const list = all.filter(matches).sort((a, b) => (favs.has(`${b.namespace}/${b.name}`) - favs.has(`${a.namespace}/${a.name}`)) || a.name.localeCompare(b.name));
    if (all.length === 0) {
      replace(body, h('div', { class: 'empty' }, h('p', {}, `No rollouts in namespace ${ns}.`), h('p', { class: 'muted' }, 'Pick another namespace above, or create one with kubectl apply -f.')));
    } else if (list.length === 0) {
      replace(body, h('div', { class: 'empty' }, h('p', {}, 'No rollout matches the search and filter.')));
    } else if (prefs.mode === 'table') {
      replace(body, table(list));
    } else {
      replace(body, h('div', { class: 'grid' }, list.map(card)));
    }
  }

  draw();
  const stopWatch = watchList(ns, (data) => { state.rollouts = data.rollouts; state.error = null; draw(); }, (err) => {
    if (err === undefined) { if (state.error) { state.error = null; draw(); } return; }
    state.error = err === null ? 'Lost the connection to the dashboard server; retrying…' : err;
    draw();
  });
  return () => { stopWatch(); document.removeEventListener('keydown', onKey); };
}
