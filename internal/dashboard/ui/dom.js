// Small helpers to build DOM nodes without innerHTML, so names and
// messages from the cluster are always text, never markup.

/**
 * h builds an element: h('div', {class: 'x', dataset: {a: 1}, onclick}, child, ...).
 * Children may be strings, nodes, arrays, or null/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    // Through the CSSOM: the page's CSP refuses style attributes.
    else if (k === 'style') Object.assign(el.style, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

const SVG = 'http://www.w3.org/2000/svg';

/** s builds an SVG element. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** replace swaps the children of el for the given ones. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * morph makes el look like fresh (built by h for the same thing) while
 * keeping el and every descendant whose tag stays: their listeners, focus
 * and a click under way survive, where replacing el would drop a click
 * pressed on the old element and released on the new. Listeners are
 * kept, not copied, so they must depend only on what stays the same.
 */
export function morph(el, fresh) {
  // A data-key names what an element stands for (a revision, say): another
  // key is another thing, whose listeners must not be kept.
  if (el.nodeType !== fresh.nodeType || el.nodeName !== fresh.nodeName || el.dataset?.key !== fresh.dataset?.key) {
    el.replaceWith(fresh);
    return;
  }
  if (el.nodeType !== Node.ELEMENT_NODE) {
    if (el.data !== fresh.data) el.data = fresh.data;
    return;
  }
  for (const a of [...el.attributes]) {
    if (!fresh.hasAttribute(a.name)) el.removeAttribute(a.name);
  }
  for (const a of fresh.attributes) {
    if (el.getAttribute(a.name) === a.value) continue;
    // Through the CSSOM: the page's CSP refuses style attributes.
    if (a.name === 'style') el.style.cssText = fresh.style.cssText;
    else el.setAttribute(a.name, a.value);
  }
  const old = [...el.childNodes];
  const now = [...fresh.childNodes];
  now.forEach((c, i) => (i < old.length ? morph(old[i], c) : el.append(c)));
  old.slice(now.length).forEach((c) => c.remove());
}

/** update makes el's children the given ones in place, as morph does. */
export function update(el, ...children) {
  const fresh = el.cloneNode(false);
  append(fresh, children);
  morph(el, fresh);
}

/** age renders the time since t ("5m", "2h3m", "4d"). */
export function age(t, now = Date.now()) {
  if (!t) return '';
  let sec = Math.max(0, Math.floor((now - new Date(t).getTime()) / 1000));
  const d = Math.floor(sec / 86400); sec -= d * 86400;
  const hr = Math.floor(sec / 3600); sec -= hr * 3600;
  const m = Math.floor(sec / 60); sec -= m * 60;
  if (d > 0) return hr ? `${d}d${hr}h` : `${d}d`;
  if (hr > 0) return m ? `${hr}h${m}m` : `${hr}h`;
  if (m > 0) return m < 10 && sec ? `${m}m${sec}s` : `${m}m`;
  return `${sec}s`;
}
