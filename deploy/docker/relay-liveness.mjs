// Liveness of a standalone `jetbox relay`, which serves no HTTP endpoint: the outbox must drain.
// Fails when the oldest pending outbox row is older than the limit (seconds, default 300) or the
// database does not answer, using the public `jetbox outbox status --json`. A restart is cheap
// (relays hold no state; their partition leases are released with their connections), so a
// stuck relay is worth replacing even though a long NATS outage also fails this check.
//   node relay-liveness.mjs [max pending age in seconds]
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const limit = Number(process.argv[2] ?? 300);
if (!Number.isFinite(limit) || limit <= 0) {
  console.error(
    `relay-liveness: the limit must be a positive number of seconds, got ${process.argv[2]}`,
  );
  process.exit(2);
}
// Next to this script in the image: /app/node_modules/@jetbox/events/bin/jetbox.js.
const cli = fileURLToPath(new URL('./node_modules/@jetbox/events/bin/jetbox.js', import.meta.url));
execFile(
  process.execPath,
  [cli, 'outbox', 'status', '--json'],
  { timeout: 15_000 },
  (err, stdout, stderr) => {
    if (err) {
      console.error(`relay-liveness: jetbox outbox status failed: ${stderr.trim() || err.message}`);
      process.exit(1);
    }
    const { oldestPendingAgeSeconds, pending } = JSON.parse(stdout);
    if (oldestPendingAgeSeconds > limit) {
      console.error(
        `relay-liveness: ${pending} pending, the oldest for ${Math.round(oldestPendingAgeSeconds)} s (limit ${limit} s)`,
      );
      process.exit(1);
    }
    process.exit(0);
  },
);
