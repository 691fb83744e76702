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

/** confirm asks the question in the page's dialog; resolves to true on yes. */
export function confirm(question) {
  dialog.querySelector('.confirm-text').textContent = question;
  dialog.returnValue = '';
  dialog.showModal();
  dialog.querySelector('[data-confirm=yes]').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
  });
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
