// An SVG chart of one metric's measurements over time, with the line its
// success or failure condition draws (when the condition compares the
// result with a number).
import { h, s } from './dom.js';
import { statusClass } from './status.js';

const PAD = { l: 48, r: 12, t: 14, b: 28 };

// The drawing is sized for the screen, so its text stays readable when
// the SVG scales to a phone's width.
const size = () => (window.innerWidth < 600 ? { W: 360, H: 180 } : { W: 640, H: 200 });

/** threshold reads "result[0] >= 0.95" as {op: '>=', value: 0.95}. */
export function threshold(condition) {
  const m = /(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)/i.exec(condition || '');
  return m ? { op: m[1], value: Number(m[2]) } : null;
}

/** fmt writes an axis value briefly. */
export const fmt = (v) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toFixed(3))));
const clock = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** chart draws metric m; data-points tells how many measurements it plots. */
export function chart(m) {
  const { W, H } = size();
  const pts = [];
  const errors = [];
  for (const ms of m.measurements || []) {
    const t = new Date(ms.finishedAt || ms.startedAt || 0).getTime();
    if (!t) continue;
    if (ms.values && ms.values.length) pts.push({ t, v: ms.values[0], ms });
    else errors.push({ t, ms });
  }
  const success = threshold(m.successCondition);
  const failure = threshold(m.failureCondition);
  const label = `${m.name}: ${pts.length} measurement${pts.length === 1 ? '' : 's'}`;
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label,
    dataset: { testid: 'metric-chart', points: String(pts.length) },
  });
  if (pts.length === 0 && errors.length === 0) {
    svg.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'chart-empty' }, 'No measurements yet'));
    return wrap(svg);
  }
  const times = [...pts, ...errors].map((p) => p.t);
  let t0 = Math.min(...times), t1 = Math.max(...times);
  if (t1 === t0) { t0 -= 5000; t1 += 5000; }
  const vals = pts.map((p) => p.v);
  for (const th of [success, failure]) if (th) vals.push(th.value);
  let lo = Math.min(...vals, 0), hi = Math.max(...vals, 0);
  if (lo >= 0 && hi <= 1) {
    // Ratios, the usual case, keep the 0–1 scale.
    lo = 0; hi = 1;
  } else {
    if (hi === lo) hi = lo + 1;
    const span = hi - lo;
    hi += span * 0.05;
    lo -= lo < 0 ? span * 0.05 : 0;
  }
  const x = (t) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v) => PAD.t + (1 - (v - lo) / (hi - lo)) * (H - PAD.t - PAD.b);

  // Grid and axes.
  for (const v of [lo, (lo + hi) / 2, hi]) {
    svg.append(s('line', { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: 'grid-line' }));
    svg.append(s('text', { x: PAD.l - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, fmt(v)));
  }
  svg.append(s('text', { x: PAD.l, y: H - 8, class: 'axis' }, clock(t0)));
  svg.append(s('text', { x: W - PAD.r, y: H - 8, 'text-anchor': 'end', class: 'axis' }, clock(t1)));

  // Conditions.
  const rule = (th, kind) => {
    if (!th) return;
    svg.append(s('line', { x1: PAD.l, x2: W - PAD.r, y1: y(th.value), y2: y(th.value), class: `threshold ${kind}` }));
    svg.append(s('text', { x: W - PAD.r - 4, y: y(th.value) - 4, 'text-anchor': 'end', class: `threshold-label ${kind}` }, `${kind} ${th.op} ${fmt(th.value)}`));
  };
  rule(success, 'success');
  rule(failure, 'failure');

  // The series and its points, coloured by each measurement's phase.
  if (pts.length > 1) {
    svg.append(s('polyline', { points: pts.map((p) => `${x(p.t)},${y(p.v)}`).join(' '), class: 'series' }));
  }
  for (const p of pts) {
    svg.append(s('circle', { cx: x(p.t), cy: y(p.v), r: 4, class: `point ${statusClass(p.ms.phase)}` },
      s('title', {}, `${clock(p.t)}  ${p.ms.value}  ${p.ms.phase}${p.ms.message ? ` — ${p.ms.message}` : ''}`)));
  }
  for (const e of errors) {
    const cx = x(e.t), cy = H - PAD.b - 6;
    svg.append(s('path', { d: `M${cx - 4},${cy - 4}L${cx + 4},${cy + 4}M${cx - 4},${cy + 4}L${cx + 4},${cy - 4}`, class: `error-mark ${statusClass(e.ms.phase)}` },
      s('title', {}, `${clock(e.t)}  ${e.ms.phase}${e.ms.message ? ` — ${e.ms.message}` : ''}`)));
  }
  return wrap(svg);
}

function wrap(svg) {
  return h('div', { class: 'chart-wrap' }, svg);
}
