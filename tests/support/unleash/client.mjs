// The official Unleash Node SDK driven over stdin/stdout by the flag tests, one JSON object per line.
// argv: <server url>/api <client token> <mode: delta | streaming> <refresh interval ms>
// in:  {"id": 1, "op": "answers", "flags": [...], "contexts": [...]}  → {"id": 1, "answers": [[on, variant], ...]}
//      {"id": 2, "op": "wait", "flag": "k", "enabled": true, "context": {}, "timeout": 5000}
//                                                                    → {"id": 2, "ok": true, "ms": 123}
// out at start: {"ready": true} once the SDK has its flags.
import { createInterface } from 'node:readline';
import { initialize } from 'unleash-client';

const [url, token, mode, interval] = process.argv.slice(2);
const experimentalMode = mode === 'streaming' ? { type: 'streaming' } : { type: 'polling', format: 'delta' };
const client = initialize({
  url, appName: 'nous-node-sdk-test', instanceId: `node-${process.pid}`,
  customHeaders: { Authorization: token }, refreshInterval: Number(interval), disableMetrics: true,
  storageProvider: { set: async () => {}, get: async () => undefined }, experimentalMode,
});
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
client.on('error', (e) => process.stderr.write(`error: ${e}\n`));
client.on('warn', (e) => process.stderr.write(`warn: ${e}\n`));
client.on('synchronized', () => say({ ready: true }));

const answers = (flags, contexts) =>
  flags.flatMap((f) => contexts.map((c) => [client.isEnabled(f, c), client.getVariant(f, c).name]));

createInterface({ input: process.stdin }).on('line', async (line) => {
  const m = JSON.parse(line);
  if (m.op === 'answers') return say({ id: m.id, answers: answers(m.flags, m.contexts) });
  if (m.op === 'wait') {
    const started = Date.now();
    while (client.isEnabled(m.flag, m.context) !== m.enabled) {
      if (Date.now() - started > m.timeout) return say({ id: m.id, ok: false, ms: Date.now() - started });
      await new Promise((r) => setTimeout(r, 10));
    }
    return say({ id: m.id, ok: true, ms: Date.now() - started });
  }
  if (m.op === 'stop') { client.destroy(); process.exit(0); }
});
