// Notices (the outcome of actions) and the confirmation dialog every
// action goes through.
import { h } from './dom.js';

const box = document.getElementById('notices');

/** notify shows a message; errors stay until closed, others fade. */
export function notify(kind, text) {
  const close = h('button', { class: 'notice-close', 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×');
  const el = h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status', dataset: { testid: 'notice', kind } },
    h('span', { class: 'notice-text' }, text), close);
  box.append(el);
  if (kind !== 'error') setTimeout(() => el.remove(), 5000);
}

const dialog = document.getElementById('confirm');

// settle answers the question on screen. The answer comes from the
// buttons and Esc, never from the dialog's close event: that event is
// queued, so a close left over from the last question can arrive after
// the next one is asked and answer it in the person's place.
let settle = null;
function answer(yes) {
  const s = settle;
  settle = null;
  if (dialog.open) dialog.close();
  s?.(yes);
}
dialog.querySelector('[data-confirm=yes]').addEventListener('click', () => answer(true));
dialog.querySelector('[data-confirm=no]').addEventListener('click', () => answer(false));
dialog.addEventListener('cancel', (e) => { e.preventDefault(); answer(false); });

/** confirm asks the question in the page's dialog; resolves to true on yes. */
export function confirm(question) {
  answer(false); // a question still open is withdrawn, never confirmed
  dialog.querySelector('.confirm-text').textContent = question;
  dialog.showModal();
  dialog.querySelector('[data-confirm=yes]').focus();
  return new Promise((resolve) => { settle = resolve; });
}

/**
 * run asks to confirm, calls fn, and shows its message or its error.
 * It returns whether the call was made and succeeded.
 */
export async function run(question, fn) {
  if (!(await confirm(question))) return false;
  try {
    const res = await fn();
    notify('info', res?.message || 'Done');
    return true;
  } catch (e) {
    notify('error', e.message);
    return false;
  }
}
