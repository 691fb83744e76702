// The page of one rollout: summary, containers (with image edit), steps,
// revisions (with rollback, and the Experiments of experiment steps) and
// analysis runs with their charts (a judge metric's judgement drawn).
import { root, setImage, undo, watchRollout } from './api.js';
import { h, replace, update, age } from './dom.js';
import { chart } from './chart.js';
import { judgement } from './judgement.js';
import { run } from './notice.js';
import { actionBar, badge, progress, statusClass, stepText } from './status.js';

/** showRollout renders ns/name into el and keeps it live; it returns a stop function. */
export function showRollout(el, ns, name, navigate) {
  // What the person opened or is typing survives every redraw.
  const ui = { open: new Set(), editing: null, data: null, error: null };
  const listHref = `${root}/?namespace=${encodeURIComponent(ns)}`;
  const back = h('a', {
    href: listHref, class: 'back',
    onclick: (e) => { if (e.button === 0 && !e.metaKey && !e.ctrlKey) { e.preventDefault(); navigate(listHref); } },
  }, '← All rollouts');
  const banner = h('div', { class: 'banner-slot' });
  const head = h('section', { class: 'detail-head' });
  const summary = h('section', { class: 'panel summary', 'aria-label': 'Summary' });
  const containers = h('section', { class: 'panel containers', 'aria-label': 'Containers' });
  const steps = h('section', { class: 'panel steps', 'aria-label': 'Steps' });
  const revisions = h('section', { class: 'panel revisions', 'aria-label': 'Revisions' });
  const analysis = h('section', { class: 'panel analysis', 'aria-label': 'Analysis runs' });
  replace(el, back, banner, head, h('div', { class: 'detail-grid' },
    h('div', { class: 'col' }, summary, containers, steps),
    h('div', { class: 'col wide' }, revisions, analysis)));

  const remember = (key) => (e) => { if (e.target.open) ui.open.add(key); else ui.open.delete(key); };
  const fold = (key, summaryNode, ...body) => h('details', { open: ui.open.has(key), ontoggle: remember(key) }, h('summary', {}, summaryNode), ...body);

  // The head and the revisions change in place: a button pressed while an
  // update arrives keeps its click and its focus.
  function drawHead(r) {
    update(head,
      h('div', { class: 'title-row' },
        h('h1', { class: 'page-title' }, r.name),
        badge(r.status, { dataset: { testid: 'rollout-status' } })),
      h('p', { class: `message ${r.message ? '' : 'empty'}`, dataset: { testid: 'rollout-message' } }, r.message || ''),
      h('p', { class: 'attention-text', hidden: !r.attention }, r.attention ? ['⚑ ', r.attention] : null),
      actionBar(r));
  }

  function fact(label, field, value) {
    return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', { dataset: { field } }, value));
  }

  function drawSummary(r) {
    replace(summary, h('h2', {}, 'Summary'), h('dl', { class: 'facts' },
      fact('Strategy', 'strategy', r.strategy || '—'),
      r.stepCount ? fact('Step', 'step', stepText(r)) : null,
      r.strategy === 'Canary' ? fact('Set weight', 'set-weight', `${r.setWeight ?? 0}%`) : null,
      r.strategy === 'Canary' ? fact('Actual weight', 'actual-weight', `${r.actualWeight ?? 0}%`) : null,
      fact('Pods ready / desired', 'pods', `${r.ready}/${r.desired}`),
      fact('Updated', 'updated', String(r.updated)),
      fact('Age', 'age', age(r.creationTimestamp))), progress(r));
  }

  function drawContainers(r) {
    // An open image editor is left alone, so typing is never interrupted.
    if (ui.editing && containers.querySelector('input[data-field=image]')) return;
    replace(containers, h('h2', {}, 'Containers'), h('ul', { class: 'container-list' }, r.containers.map((c) => {
      const editing = ui.editing === c.name;
      const input = h('input', { type: 'text', value: c.image, 'aria-label': `Image of ${c.name}`, dataset: { field: 'image' }, spellcheck: 'false' });
      const save = async () => {
        const image = input.value.trim();
        if (!image || image === c.image) { ui.editing = null; drawContainers(ui.data); return; }
        const ok = await run(`Set the image of container "${c.name}" of rollout "${r.name}" to ${image}?`, () => setImage(ns, name, c.name, image));
        if (ok) { ui.editing = null; drawContainers(ui.data); }
      };
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') save();
        if (e.key === 'Escape') { ui.editing = null; drawContainers(ui.data); }
      });
      const row = h('li', { class: 'container', dataset: { testid: 'container', container: c.name } },
        h('span', { class: 'container-name' }, c.name, c.init ? h('span', { class: 'tag' }, 'init') : null),
        editing
          ? h('span', { class: 'image-edit' }, input,
            h('button', { class: 'btn primary small', dataset: { action: 'save-image' }, onclick: save }, 'Save'),
            h('button', { class: 'btn small', onclick: () => { ui.editing = null; drawContainers(ui.data); } }, 'Cancel'))
          : h('span', { class: 'image-view' }, h('code', { class: 'image' }, c.image),
            h('button', { class: 'btn small', dataset: { action: 'edit-image' }, title: 'Edit image', onclick: () => { ui.editing = c.name; drawContainers(ui.data); input.focus(); input.select(); } }, '✎ Edit')));
      return row;
    })));
  }

  function drawSteps(r) {
    if (r.strategy !== 'Canary') {
      replace(steps, h('h2', {}, 'Steps'), h('p', { class: 'muted' }, r.strategy === 'BlueGreen' ? 'Blue-green: preview, then promotion switches the active Service.' : 'No strategy.'));
      return;
    }
    if (!r.steps || r.steps.length === 0) {
      replace(steps, h('h2', {}, 'Steps'), h('p', { class: 'muted' }, 'No steps: an update goes straight to 100%.'));
      return;
    }
    replace(steps, h('h2', {}, 'Steps'), h('ol', { class: 'step-list' }, r.steps.map((st) => {
      const icon = st.state === 'done' ? '✔' : st.state === 'current' ? '▶' : '○';
      const line = [h('span', { class: 'step-icon', 'aria-hidden': 'true' }, icon), h('span', { class: 'step-text' }, st.text)];
      const expandable = (st.details && st.details.length) || st.analysisRun || st.experiment;
      return h('li', { class: `step ${st.state} kind-${st.kind}`, dataset: { testid: 'step', index: String(st.index), state: st.state }, 'aria-current': st.state === 'current' ? 'step' : null },
        expandable
          ? fold(`step-${st.index}`, line,
            h('ul', { class: 'step-details' },
              (st.details || []).map((d) => h('li', {}, d)),
              st.analysisRun ? h('li', {}, 'run ', h('a', { href: `#run-${st.analysisRun}` }, st.analysisRun), ' ', badge(runStatus(r, st.analysisRun))) : null,
              st.experiment ? h('li', { dataset: { testid: 'step-experiment' } }, 'experiment ', h('a', { href: `#exp-${st.experiment}` }, st.experiment), ' ', badge(st.experimentStatus)) : null))
          : line);
    })));
  }

  const runStatus = (r, runName) => r.analysisRuns.find((a) => a.name === runName)?.status;

  const runLinks = (names) => names && names.length
    ? h('p', { class: 'muted small' }, 'Analysis: ', names.map((n, i) => [i ? ', ' : '', h('a', { href: `#run-${n}` }, n)]))
    : null;

  function replicaSet(rs) {
    return h('div', { class: 'replicaset', dataset: { testid: 'replicaset', name: rs.name } },
      h('div', { class: 'rs-head' }, badge(rs.status), h('span', { class: 'rs-name' }, rs.name),
        rs.template ? h('span', { class: 'tag template', title: `Experiment template ${rs.template}` }, `Σ ${rs.template}`) : null,
        h('span', { class: 'muted' }, `${rs.available}/${rs.replicas} available`)),
      h('div', { class: 'pods', role: 'list', 'aria-label': `Pods of ${rs.name}` }, (rs.pods || []).map((p) => h('span', {
        class: `pod ${podClass(p.status)}`, role: 'listitem', dataset: { testid: 'pod', status: p.status }, title: `${p.name}: ${p.status} (${p.ready} ready${p.restarts ? `, ${p.restarts} restarts` : ''})`,
      }))));
  }

  // An experiment step's Experiment: its templates' ReplicaSets with their
  // pods, and links to its runs (drawn with the rollout's runs).
  function experiment(e) {
    const meta = [e.stepIndex !== undefined && e.stepIndex !== null ? `step ${e.stepIndex}` : null, age(e.creationTimestamp)].filter(Boolean).join(' · ');
    return h('section', { class: `experiment ${statusClass(e.status)}`, id: `exp-${e.name}`, 'aria-label': `Experiment ${e.name}`, dataset: { testid: 'experiment', name: e.name, status: e.status } },
      h('div', { class: 'exp-head' }, h('span', { class: 'glyph', 'aria-hidden': 'true', title: 'Experiment' }, 'Σ'), badge(e.status),
        h('span', { class: 'exp-name' }, e.name), h('span', { class: 'muted' }, `Experiment · ${meta}`)),
      e.message ? h('p', { class: `exp-message ${statusClass(e.status)}`, dataset: { testid: 'experiment-message' } }, e.message) : null,
      e.replicaSets.map(replicaSet),
      runLinks(e.analysisRuns));
  }

  function drawRevisions(r) {
    update(revisions, h('h2', {}, 'Revisions'), r.revisions.length === 0 ? h('p', { class: 'muted' }, 'No ReplicaSets yet.') : r.revisions.map((rev) => {
      const tags = new Set();
      for (const rs of rev.replicaSets) for (const t of ['stable', 'canary', 'active', 'preview']) if (rs[t]) tags.add(t);
      return h('article', { class: `revision${rev.current ? ' current' : ''}`, dataset: { testid: 'revision', revision: String(rev.number), key: `rev-${rev.number}` } },
        h('div', { class: 'revision-head' },
          h('h3', {}, `Revision ${rev.number}`),
          [...tags].map((t) => h('span', { class: `tag ${t}` }, t)),
          rev.current ? null : h('button', {
            class: 'btn small', dataset: { action: 'rollback' }, title: `Roll back to revision ${rev.number}`,
            onclick: () => run(`Roll rollout "${r.name}" back to revision ${rev.number} (${(rev.images || []).join(', ')})? This starts a new revision with that template.`, () => undo(ns, name, rev.number)),
          }, '↶ Rollback')),
        h('div', { class: 'images' }, (rev.images || []).map((i) => h('code', { class: 'image' }, i))),
        rev.replicaSets.map(replicaSet),
        (rev.experiments || []).map(experiment),
        runLinks(rev.analysisRuns));
    }));
  }

  function drawAnalysis(r) {
    if (!r.analysisRuns.length) {
      replace(analysis, h('h2', {}, 'Analysis runs'), h('p', { class: 'muted' }, 'No analysis runs.'));
      return;
    }
    replace(analysis, h('h2', {}, 'Analysis runs'), r.analysisRuns.map((a, i) => {
      const key = `run-${a.name}`;
      // The newest run is open unless the person closed it.
      if (i === 0 && !ui.open.has(`seen-${a.name}`)) { ui.open.add(key); ui.open.add(`seen-${a.name}`); }
      return h('article', { class: `run ${statusClass(a.status)}`, id: key, dataset: { testid: 'analysisrun', name: a.name, status: a.status } },
        fold(key, h('span', { class: 'run-head' }, badge(a.status), h('span', { class: 'run-name' }, a.name),
          h('span', { class: 'muted' }, [a.experiment ? `Experiment ${a.experiment}` : a.type, a.stepIndex !== undefined && a.stepIndex !== null ? `step ${a.stepIndex}` : null, `revision ${a.revision}`, age(a.creationTimestamp)].filter(Boolean).join(' · '))),
        a.message ? h('p', { class: `run-message ${statusClass(a.status)}` }, a.message) : null,
        a.metrics.map((m) => metric(a, m))));
    }));
  }

  function metric(a, m) {
    const counts = ['successful', 'failed', 'inconclusive', 'error'].filter((k) => m[k]).map((k) => `${m[k]} ${k}`).join(', ') || 'no results yet';
    return h('section', { class: 'metric', dataset: { testid: 'metric', metric: m.name } },
      h('div', { class: 'metric-head' }, badge(m.status || 'Pending'), h('h4', {}, m.name), h('span', { class: 'muted' }, m.provider), m.dryRun ? h('span', { class: 'tag' }, 'dry run') : null),
      m.message ? h('p', { class: `metric-message ${statusClass(m.status)}`, dataset: { testid: 'metric-message' } }, m.message) : null,
      h('dl', { class: 'rules' },
        m.successCondition ? [h('dt', {}, 'Success'), h('dd', {}, h('code', {}, m.successCondition))] : null,
        m.failureCondition ? [h('dt', {}, 'Failure'), h('dd', {}, h('code', {}, m.failureCondition))] : null,
        [h('dt', {}, 'Schedule'), h('dd', {}, [m.interval ? `every ${m.interval}` : 'once', m.count ? `, ${m.count} times` : '', m.failureLimit ? `, failure limit ${m.failureLimit}` : ''].join(''))],
        [h('dt', {}, 'Results'), h('dd', {}, counts)]),
      m.query ? h('pre', { class: 'query', dataset: { testid: 'metric-query' } }, m.query) : null,
      // A judge metric's value is a judgement, drawn as such: a chart over
      // time of values that are not numbers would show only marks.
      m.judgement ? judgement(m.judgement) : chart(m),
      m.measurements.length ? fold(`table-${a.name}-${m.name}`, `Measurements (${m.measurements.length})`, h('div', { class: 'table-wrap' }, h('table', { class: 'measurements' },
        h('thead', {}, h('tr', {}, ['Finished', 'Phase', 'Value', 'Message'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, [...m.measurements].reverse().map((ms) => h('tr', {},
          h('td', {}, ms.finishedAt ? new Date(ms.finishedAt).toLocaleTimeString() : '…'),
          h('td', {}, badge(ms.phase)),
          h('td', {}, ms.outcome ? ms.outcome : h('code', {}, ms.value || '')),
          h('td', {}, ms.message || ''))))))) : null);
  }

  function draw() {
    replace(banner, ui.error ? h('div', { class: 'banner error', role: 'alert' }, ui.error) : null);
    const r = ui.data;
    if (!r) return;
    drawHead(r);
    drawSummary(r);
    drawContainers(r);
    drawSteps(r);
    drawRevisions(r);
    drawAnalysis(r);
  }

  replace(head, h('p', { class: 'loading' }, 'Loading…'));
  const stopWatch = watchRollout(ns, name, (data) => {
    ui.data = data;
    ui.error = null;
    draw();
  }, (err) => {
    if (err === undefined) { if (ui.error) { ui.error = null; draw(); } return; }
    ui.error = err === null ? 'Lost the connection to the dashboard server; retrying…' : err;
    draw();
  });
  return stopWatch;
}

function podClass(status) {
  if (status === 'Running' || status === 'Completed') return 'ok';
  if (status === 'Pending' || status === 'ContainerCreating' || status === 'Terminating' || (status || '').startsWith('Init:')) return 'progress';
  if (status === 'Unknown') return 'unknown';
  return 'bad';
}
