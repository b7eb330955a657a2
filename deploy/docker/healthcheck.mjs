// Container health check for jetbox's HTTP services: GET a path on this container's port and
// exit 0 on a 2xx. A script rather than curl/wget, which the slim Node image does not have.
//   node healthcheck.mjs <path> <default port>   (PORT, when set, wins, as in the service)
const [path = '/healthz', defaultPort = '3000'] = process.argv.slice(2);
const port = process.env.PORT?.trim() || defaultPort;
const url = `http://127.0.0.1:${port}${path}`;
try {
  // Shorter than the probes' timeouts, so a hung service fails the check instead of timing out.
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) console.error(`healthcheck: ${url} answered ${res.status}`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`healthcheck: ${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
