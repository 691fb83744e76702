// Status badges and the action buttons, shared by the list and the
// rollout page.
import { actions } from './api.js';
import { h } from './dom.js';
import { run } from './notice.js';

const icons = {
  Healthy: '✔', Progressing: '◌', Paused: '‖', Degraded: '✖', Error: '⚠', InvalidSpec: '⚠',
  ScaledDown: '•', Unknown: '?', Successful: '✔', Failed: '✖', Running: '◌', Pending: '◷', Inconclusive: '?',
};

/** statusClass is the colour family of a phase. */
export function statusClass(status) {
  switch (status) {
    case 'Healthy': case 'Successful': case 'Running': return 'ok';
    case 'Progressing': case 'Pending': return 'progress';
    case 'Paused': case 'Inconclusive': return 'paused';
    case 'Degraded': case 'Failed': case 'Error': case 'InvalidSpec': return 'bad';
    case 'ScaledDown': return 'neutral';
    default: return 'unknown';
  }
}

/** badge is a phase with its icon. */
export function badge(status, attrs = {}) {
  const st = status || 'Unknown';
  return h('span', { class: `badge ${statusClass(st)}`, ...attrs },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true' }, icons[st] ?? '?'), h('span', { class: 'badge-text' }, st));
}

const labels = {
  promote: ['Promote', 'Promote rollout %s to its next step?'],
  'promote-full': ['Promote-Full', 'Promote rollout %s fully, skipping the remaining steps, pauses and analysis?'],
  abort: ['Abort', 'Abort rollout %s? Traffic and replicas go back to the stable version.'],
  retry: ['Retry', 'Retry rollout %s from its first step?'],
  restart: ['Restart', 'Restart the pods of rollout %s, a few at a time?'],
  pause: ['Pause', 'Pause rollout %s? Promote resumes it.'],
};

const enabledBy = {
  promote: 'promote', 'promote-full': 'promoteFull', abort: 'abort', retry: 'retry', restart: 'restart', pause: 'pause',
};

const why = {
  promote: 'No update in progress to promote',
  'promote-full': 'No update in progress to promote',
  abort: 'No update in progress to abort',
  retry: 'Retry restarts an aborted rollout; this one is not aborted',
  pause: 'Already paused',
  restart: '',
};

/** actionBar is the six action buttons for a rollout summary. */
export function actionBar(r, compact = false) {
  return h('div', { class: `actions${compact ? ' compact' : ''}` }, Object.keys(labels).map((name) => {
    const [label, question] = labels[name];
    const enabled = r.actions?.[enabledBy[name]];
    return h('button', {
      class: `btn action ${name === 'abort' ? 'danger' : ''} ${name.startsWith('promote') ? 'primary' : ''}`,
      dataset: { action: name },
      disabled: !enabled,
      title: enabled ? label : why[name],
      onclick: (e) => {
        e.preventDefault();
        e.stopPropagation();
        run(question.replace('%s', `"${r.name}"`), () => actions[name](r.namespace, r.name));
      },
    }, label);
  }));
}

/** stepText is "i/N" for a canary with steps. */
export function stepText(r) {
  if (!r.stepCount) return '';
  return `${r.stepIndex ?? 0}/${r.stepCount}`;
}

/** progress is a bar through the steps (class progress-bar: "progress" is the badges' colour family). */
export function progress(r) {
  const n = r.stepCount || 0;
  let frac = 1;
  if (n > 0) frac = Math.min(1, (r.stepIndex ?? 0) / n);
  if (r.strategy === 'BlueGreen') frac = r.status === 'Healthy' ? 1 : 0.5;
  return h('div', { class: `progress-bar ${statusClass(r.status)}`, role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(frac * 100) },
    h('div', { class: 'progress-fill', style: { width: `${(frac * 100).toFixed(1)}%` } }));
}
