import { parseArgs } from 'node:util';
import { simulate, type SimulatorOptions } from './simulator.js';

const USAGE = `Usage: npm run simulate -- [--url mqtt://127.0.0.1:1883] [--sensors 5] [--rate 1] [--metric temperature]
                         [--spikes 0.01] [--prefix ''] [--qos 0|1] [--duration 0]`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function positive(name: string, raw: string, { integer = false, allowZero = false } = {}): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0) || (integer && !Number.isInteger(value)))
    fail(`--${name} must be a ${integer ? 'whole' : ''} number${allowZero ? '' : ' above 0'}, got "${raw}"`);
  return value;
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
        sensors: { type: 'string', default: '5' },
        rate: { type: 'string', default: '1' },
        metric: { type: 'string', default: 'temperature' },
        spikes: { type: 'string', default: '0.01' },
        prefix: { type: 'string', default: '' },
        qos: { type: 'string', default: '0' },
        duration: { type: 'string', default: '0' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const options: SimulatorOptions = {
  url: values.url,
  sensors: positive('sensors', values.sensors, { integer: true }),
  rate: positive('rate', values.rate),
  metric: values.metric,
  spikeProbability: Math.min(1, positive('spikes', values.spikes, { allowZero: true })),
  prefix: values.prefix,
  qos: values.qos === '1' ? 1 : values.qos === '0' ? 0 : fail(`--qos must be 0 or 1, got "${values.qos}"`),
  durationSeconds: positive('duration', values.duration, { allowZero: true }),
};

const abort = new AbortController();
process.once('SIGINT', () => abort.abort());
process.once('SIGTERM', () => abort.abort());
console.log(`Simulating ${options.sensors} sensors x ${options.rate}/s on ${options.url} (${options.prefix}sensors/sim-NNN/${options.metric}); Ctrl-C stops`);
let lastReport = Date.now();
simulate(options, abort.signal, (stats) => {
  if (Date.now() - lastReport < 5000) return;
  lastReport = Date.now();
  console.log(`published ${stats.published} readings, ${stats.spikes} spikes`);
})
  .then((stats) => console.log(`Done: published ${stats.published} readings, ${stats.spikes} spikes`))
  .catch((error: Error) => {
    console.error(`Simulator failed: ${error.message}`);
    process.exit(1);
  });
