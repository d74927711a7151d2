// Tile fetches: at most 6 at a time (the browser's connections to one server), 3 per side: the
// map asks for the left month's first screen before the right one's, and with no share of its
// own the right side's first tiles would wait behind all of the left's.
const PER_SIDE = 3;
const queues = { left: [], right: [] };
const inFlight = { left: 0, right: 0 };

function pump(side) {
  while (inFlight[side] < PER_SIDE && queues[side].length) {
    const job = queues[side].shift();
    if (job.signal.aborted) { job.reject(new DOMException("tile no longer needed", "AbortError")); continue; }
    inFlight[side]++;
    fetch(job.url, { signal: job.signal })
      .then(async (r) => {
        if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
        return { data: await r.arrayBuffer() };
      })
      .then(job.resolve, job.reject)
      .finally(() => { inFlight[side]--; pump(side); });
  }
}

/** The `tiles-left://` and `tiles-right://` protocols: tile URLs fetched through each side's queue. */
export function addTileProtocols(maplibregl) {
  for (const side of ["left", "right"]) {
    maplibregl.addProtocol(`tiles-${side}`, (params, abort) => new Promise((resolve, reject) => {
      queues[side].push({ url: params.url.slice(`tiles-${side}://`.length), signal: abort.signal, resolve, reject });
      pump(side);
    }));
  }
}
