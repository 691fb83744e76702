// The dashboard's REST API: reads, actions (with the page's CSRF token)
// and watches as Server-Sent Events.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? '';

export const root = meta('root-path');
export const defaultNamespace = meta('default-namespace');
export const version = meta('version');
const token = meta('csrf-token');
const base = `${root}/api/v1`;

const enc = encodeURIComponent;

/** ApiError is a failed call with the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, body) {
  const opts = { method, headers: { Accept: 'application/json' } };
  if (method !== 'GET') {
    opts.headers['X-CSRF-Token'] = token;
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(base + path, opts);
  } catch (e) {
    throw new ApiError(0, `the dashboard server cannot be reached (${e.message}); is kubectl argo rollouts dashboard still running?`);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) throw new ApiError(res.status, data?.error || text || res.statusText);
  return data;
}

export const getNamespaces = () => call('GET', '/namespace');

const rolloutPath = (ns, name) => `/rollouts/${enc(ns)}/${enc(name)}`;

/** Actions by name; each returns the server's message. */
export const actions = {
  promote: (ns, name) => call('PUT', `${rolloutPath(ns, name)}/promote`, { full: false }),
  'promote-full': (ns, name) => call('PUT', `${rolloutPath(ns, name)}/promote`, { full: true }),
  abort: (ns, name) => call('PUT', `${rolloutPath(ns, name)}/abort`),
  retry: (ns, name) => call('PUT', `${rolloutPath(ns, name)}/retry`),
  restart: (ns, name) => call('PUT', `${rolloutPath(ns, name)}/restart`),
  pause: (ns, name) => call('PUT', `${rolloutPath(ns, name)}/pause`),
};

/** setImage sets a container's image, sent as IMAGE/TAG path segments. */
export function setImage(ns, name, container, image) {
  let repo = image, tag = 'latest';
  const at = image.indexOf('@');
  if (at > 0) {
    repo = image.slice(0, at); tag = image.slice(at + 1);
  } else {
    const colon = image.lastIndexOf(':');
    if (colon > image.lastIndexOf('/')) { repo = image.slice(0, colon); tag = image.slice(colon + 1); }
  }
  const path = repo.split('/').map(enc).join('/');
  return call('PUT', `${rolloutPath(ns, name)}/set/${enc(container)}/${path}/${enc(tag)}`);
}

export const undo = (ns, name, revision) => call('PUT', `${rolloutPath(ns, name)}/undo/${enc(String(revision))}`);

/**
 * watch follows a watch endpoint: handlers maps each event name to a
 * function that gets the event's JSON and the time it arrived
 * (performance.now()); onError gets the server's error events and lost
 * connections (EventSource reconnects by itself, and the stream starts
 * again with its first event). It returns a function that stops watching.
 */
export function watch(path, handlers, onError) {
  const es = new EventSource(base + path);
  for (const [event, fn] of Object.entries(handlers)) {
    es.addEventListener(event, (e) => { const at = performance.now(); fn(JSON.parse(e.data), at); });
  }
  es.addEventListener('error', (e) => {
    if (e.data) {
      try { onError(JSON.parse(e.data).error); } catch { onError(String(e.data)); }
    } else if (es.readyState !== EventSource.OPEN) {
      onError(null);
    }
  });
  es.addEventListener('open', () => onError(undefined));
  return () => es.close();
}

/**
 * watchList follows the list of ns: onSnapshot gets the whole list
 * ({rollouts}) first and after every reconnect or error, onDelta what
 * changed since ({added, changed, removed}).
 */
export const watchList = (ns, onSnapshot, onDelta, onError) =>
  watch(`/rollouts/${enc(ns)}/info/watch`, { message: onSnapshot, delta: onDelta }, onError);
export const watchRollout = (ns, name, onData, onError) => watch(`${rolloutPath(ns, name)}/info/watch`, { message: onData }, onError);
