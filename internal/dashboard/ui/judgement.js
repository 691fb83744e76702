// A canary judge metric's judgement: for each metric it compared, the
// baseline's and the canary's samples drawn side by side from their
// quantiles, with the medians, the effect and its interval, the p-value,
// the sample counts and the class in text.
import { h, s, age } from './dom.js';
import { fmt } from './chart.js';

// LEVELS are the quantiles each side's summary lists, in order (the
// judge's SummaryQuantiles; a Go test keeps the two the same).
export const LEVELS = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1];
const [MIN, P10, P25, P50, P75, P90, MAX] = LEVELS.keys();

const PAD = { l: 78, r: 14, t: 10, b: 24 };
const ROW = 30;

const tone = { Pass: 'ok', Marginal: 'paused', Fail: 'bad', High: 'bad', Low: 'bad', NoData: 'paused' };
const icon = { Pass: '✔', Marginal: '?', Fail: '✖', High: '✖', Low: '✖', NoData: '⚠' };

/** num writes a value with four significant digits, as the judge keeps them. */
const num = (v) => (Number.isFinite(v) ? String(Number(v.toPrecision(4))) : '—');
const pct = (f) => `${f >= 0 ? '+' : '-'}${Math.abs(100 * f).toFixed(1)}%`;

function pill(word, attrs = {}) {
  return h('span', { class: `badge ${tone[word] || 'unknown'}`, ...attrs },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true' }, icon[word] ?? '?'), h('span', { class: 'badge-text' }, word));
}

/** judgement draws j, the latest judgement of a judge metric. */
export function judgement(j) {
  const v = j.judgement;
  const verdicts = v.verdicts || [];
  return h('section', { class: 'judgement', dataset: { testid: 'judgement', outcome: v.outcome }, 'aria-label': `Judgement of ${j.metric}` },
    h('div', { class: 'judgement-head' }, pill(v.outcome), h('strong', { dataset: { field: 'score' } }, `score ${num(v.score)}`),
      h('span', { class: 'muted' }, ['judgement', j.measuredAt ? `${age(j.measuredAt)} ago` : null].filter(Boolean).join(' · '))),
    verdicts.length ? h('p', { class: 'muted small legend' }, 'Each side: the line spans its samples, the thick line the 10th to 90th percentile, the box the middle half, the bar the median; ' +
      'the dashed line marks the baseline median, the band under the canary where the effect\'s interval puts its median.') : null,
    verdicts.length === 0 ? h('p', { class: 'muted small' }, 'The verdicts were left out to fit the measurement; its message names the metrics that did not pass.') : null,
    verdicts.map((vd, i) => verdict(vd, (v.samples || [])[i])));
}

function verdict(vd, sum) {
  const effect = vd.effectOf
    ? `${pct(vd.effect)} [${pct(vd.effectLow)}, ${pct(vd.effectHigh)}] on the ${vd.effectOf}${vd.confidence ? ` (${Math.round(100 * vd.confidence)}% interval)` : ''}`
    : null;
  const fact = (label, field, value) => [h('dt', {}, label), h('dd', { dataset: { field } }, value)];
  return h('article', { class: `verdict ${tone[vd.class] || ''}`, dataset: { testid: 'verdict', metric: vd.metric, class: vd.class } },
    h('div', { class: 'verdict-head' }, pill(vd.class, { dataset: { field: 'class' } }), h('h5', {}, vd.metric),
      vd.critical ? h('span', { class: 'tag' }, 'critical') : null),
    h('dl', { class: 'verdict-facts' },
      vd.class === 'NoData' ? null : fact('Baseline median', 'baseline-median', num(vd.baselineMedian)),
      vd.class === 'NoData' ? null : fact('Canary median', 'canary-median', num(vd.canaryMedian)),
      effect ? fact('Effect', 'effect', effect) : null,
      effect ? fact('p-value', 'p-value', String(Number(vd.pValue.toPrecision(2)))) : null,
      fact('Samples', 'samples', `${vd.baselineN} baseline, ${vd.canaryN} canary`)),
    vd.reason ? h('p', { class: 'verdict-reason', dataset: { field: 'reason' } }, vd.reason) : null,
    distributions(vd, sum));
}

// usable is a side's quantiles when all are numbers (a side with no
// samples has none; null stands for a value that was not finite).
const usable = (q) => (Array.isArray(q) && q.length === LEVELS.length && q.every(Number.isFinite) ? q : null);

/**
 * distributions draws both sides as box plots on one scale: the line
 * spans the minimum to the maximum, the thick line the 10th to the 90th
 * percentile, the box the quartiles, the bar the median. A dashed line
 * marks the baseline's median across both; under the canary, a band shows
 * where the effect's interval puts the canary's median (effects on the
 * median only: a mean has no place on this scale).
 */
function distributions(vd, sum) {
  const sides = [['baseline', usable(sum?.baseline), vd.baselineN], ['canary', usable(sum?.canary), vd.canaryN]];
  if (!sides.some(([, q]) => q)) {
    return h('p', { class: 'muted small', dataset: { testid: 'no-distribution' } },
      sum ? 'No samples to draw.' : 'The sample summaries were left out to fit the measurement.');
  }
  const band = vd.effectOf === 'median' && Number.isFinite(vd.baselineMedian) && vd.baselineMedian !== 0
    ? [vd.baselineMedian * (1 + vd.effectLow), vd.baselineMedian * (1 + vd.effectHigh)].sort((a, b) => a - b)
    : null;
  const values = sides.flatMap(([, q]) => q || []).concat(band || []);
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi === lo) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
  const span = hi - lo;
  lo -= span * 0.04; hi += span * 0.04;

  const W = window.innerWidth < 600 ? 360 : 640;
  const H = PAD.t + 2 * ROW + PAD.b;
  const x = (v) => PAD.l + ((v - lo) / (hi - lo)) * (W - PAD.l - PAD.r);
  const mid = (i) => PAD.t + ROW * i + ROW / 2;

  const described = sides.map(([name, q, n]) => (q ? `${name} median ${num(q[P50])}, middle half ${num(q[P25])} to ${num(q[P75])}` : `no ${name} samples`));
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart distributions', role: 'img',
    'aria-label': `${vd.metric}: ${described.join('; ')}`, dataset: { testid: 'distributions' },
  });
  for (const v of [lo + span * 0.04, (lo + hi) / 2, hi - span * 0.04]) {
    svg.append(s('line', { x1: x(v), x2: x(v), y1: PAD.t, y2: PAD.t + 2 * ROW, class: 'grid-line' }));
    svg.append(s('text', { x: x(v), y: H - 8, 'text-anchor': 'middle', class: 'axis' }, fmt(v)));
  }
  sides.forEach(([name, q, n], i) => {
    const y = mid(i);
    svg.append(s('text', { x: PAD.l - 8, y: y + 4, 'text-anchor': 'end', class: 'side-label' }, name));
    if (!q) {
      svg.append(s('text', { x: PAD.l, y: y + 4, class: 'axis', dataset: { testid: `dist-${name}`, empty: 'true' } }, 'no samples'));
      return;
    }
    const title = `${name}: ${n} samples; minimum ${num(q[MIN])}, 10th percentile ${num(q[P10])}, quartiles ${num(q[P25])} and ${num(q[P75])}, ` +
      `median ${num(q[P50])}, 90th percentile ${num(q[P90])}, maximum ${num(q[MAX])}`;
    svg.append(s('g', { class: `dist ${name}`, dataset: { testid: `dist-${name}`, median: String(q[P50]) } },
      s('title', {}, title),
      s('line', { x1: x(q[MIN]), x2: x(q[MAX]), y1: y, y2: y, class: 'range' }),
      s('line', { x1: x(q[P10]), x2: x(q[P90]), y1: y, y2: y, class: 'whisker' }),
      s('rect', { x: x(q[P25]), y: y - 9, width: Math.max(1, x(q[P75]) - x(q[P25])), height: 18, rx: 2, class: 'box' }),
      s('line', { x1: x(q[P50]), x2: x(q[P50]), y1: y - 11, y2: y + 11, class: 'median' })));
  });
  const base = sides[0][1];
  if (base) {
    svg.append(s('line', { x1: x(base[P50]), x2: x(base[P50]), y1: PAD.t, y2: PAD.t + 2 * ROW, class: 'baseline-median', dataset: { testid: 'baseline-median' } },
      s('title', {}, `baseline median ${num(base[P50])}`)));
  }
  if (band) {
    svg.append(s('rect', {
      x: x(band[0]), y: mid(1) + 12, width: Math.max(2, x(band[1]) - x(band[0])), height: 4, class: `effect-band ${tone[vd.class] || ''}`, dataset: { testid: 'effect-band' },
    }, s('title', {}, `the canary's median by the effect's interval: ${num(band[0])} to ${num(band[1])}`)));
  }
  return h('div', { class: 'chart-wrap' }, svg);
}
