// The dashboard page: a list of rollouts and a page per rollout, both kept
// live by the server's watch streams. Routes: ROOT/ (list, ?namespace=NS)
// and ROOT/rollout/NS/NAME.
import { root, defaultNamespace, getNamespaces } from './api.js';
import { h } from './dom.js';
import { showList } from './list.js';
import { showRollout } from './rollout.js';

const view = document.getElementById('view');
const nsSelect = document.getElementById('namespace');
let stop = () => {};

/** namespace is the one in the address, else the last chosen, else the CLI's. */
function namespace() {
  return new URLSearchParams(location.search).get('namespace') || localStorage.getItem('aviary.namespace') || defaultNamespace;
}

/** navigate moves to a path of the page without reloading it. */
export function navigate(path) {
  history.pushState(null, '', path);
  route();
}

function route() {
  stop();
  const rest = location.pathname.startsWith(root) ? location.pathname.slice(root.length) : location.pathname;
  const m = rest.match(/^\/rollout\/([^/]+)\/([^/]+)\/?$/);
  if (m) {
    const ns = decodeURIComponent(m[1]);
    const name = decodeURIComponent(m[2]);
    setNamespace(ns);
    document.title = `${name} · Rollouts · Aviary`;
    stop = showRollout(view, ns, name, navigate);
  } else {
    const ns = namespace();
    setNamespace(ns);
    document.title = `Rollouts in ${ns} · Aviary`;
    stop = showList(view, ns, navigate);
  }
}

function setNamespace(ns) {
  localStorage.setItem('aviary.namespace', ns);
  if (![...nsSelect.options].some((o) => o.value === ns)) nsSelect.append(h('option', { value: ns }, ns));
  nsSelect.value = ns;
}

nsSelect.addEventListener('change', () => {
  localStorage.setItem('aviary.namespace', nsSelect.value);
  navigate(`${root}/?namespace=${encodeURIComponent(nsSelect.value)}`);
});

document.getElementById('home').addEventListener('click', (e) => {
  if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  navigate(`${root}/?namespace=${encodeURIComponent(namespace())}`);
});

window.addEventListener('popstate', route);

getNamespaces().then((info) => {
  const current = nsSelect.value;
  nsSelect.replaceChildren(...info.availableNamespaces.map((ns) => h('option', { value: ns }, ns)));
  setNamespace(current || info.namespace);
}).catch(() => { /* the list view reports the server's state */ });

route();
