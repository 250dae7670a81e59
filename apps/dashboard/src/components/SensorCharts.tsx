import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import type { AlarmPayload } from '#contracts';
import { useActiveAlarms, useGateway, useTopic, type Api } from '../hooks/index.js';
import { activeBySeries } from './alarm-data.js';
import { historyCoverage, historyPath, historyPoints, RANGES, SeriesBook, toColumns, type MetricSeries, type RangeName } from './chart-data.js';

const MAX_CHARTS = 12;
const CHART_HEIGHT = 180;
/** Redraws are batched: a fast stream must not re-render React per reading. */
const REDRAW_EVERY_MS = 100;
/** Live readings replayed on subscribe, so the charts show the latest points before any history answers. */
const LIVE_REPLAY = 100;

/**
 * A line chart per sensor metric, with the forecast dashed after it and anomalies marked on it.
 * Each chart opens with the stored history of the chosen range (raw readings for short ranges,
 * averaged buckets for long ones) and then follows live readings; the `readings` topic is asked to
 * replay its latest readings, so points show at once. Both merge by timestamp without doubling.
 * After a reconnect the client resumes `readings` where it left off; the history is reloaded only
 * when that resume fails.
 */
export function SensorCharts() {
  const { api, hasConnected, identity } = useGateway();
  const bookRef = useRef<SeriesBook | null>(null);
  const book = (bookRef.current ??= new SeriesBook());
  const [range, setRange] = useState<RangeName>('15m');
  // An answer for a range the user has left (a slow 24 h query after a click on 7 d) is not drawn.
  const rangeRef = useRef(range);
  rangeRef.current = range;
  const [version, setVersion] = useState(0);
  const [historyError, setHistoryError] = useState<string | null>(null);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const redraw = (): void => {
    pending.current ??= setTimeout(() => {
      pending.current = null;
      setVersion((count) => count + 1);
    }, REDRAW_EVERY_MS);
  };
  useEffect(() => () => clearTimeout(pending.current ?? undefined), []);

  // On open, on a range change and when a reconnect could not resume `readings` (readings may be
  // missing): reload the history of every known series. A series first seen live loads its own
  // history (below), so a chart never starts empty.
  const [reloads, setReloads] = useState(0);
  const loaded = useRef(new Set<string>());
  const loadSeries = (sensorId: string, metric: string): void => {
    const key = `${range}|${sensorId}/${metric}`;
    if (loaded.current.has(key)) return;
    loaded.current.add(key);
    const requested = range;
    api<unknown>('GET', historyPath(sensorId, metric, requested, Date.now())).then(
      (body) => {
        if (rangeRef.current !== requested) return;
        const points = historyPoints(body);
        // Bucketed history stands for everything up to its last bucket's end: live points inside
        // that bucket are in its average and are not drawn again beside it.
        book.loadHistory(sensorId, metric, points, historyCoverage(requested, points));
        redraw();
      },
      (error: Error) => {
        loaded.current.delete(key);
        if (rangeRef.current !== requested) return;
        setHistoryError(error.message);
      },
    );
  };
  useEffect(() => {
    if (!hasConnected) return;
    book.windowMs = RANGES[range].ms;
    loaded.current.clear();
    setHistoryError(null);
    for (const series of book.series.values()) loadSeries(series.sensorId, series.metric);
    void discoverSeries(api).then(
      (found) => found.forEach(({ sensorId, metric }) => loadSeries(sensorId, metric)),
      (error: Error) => setHistoryError(error.message),
    );
    // loadSeries reads `range` and `api`, both deps here.
  }, [api, hasConnected, range, reloads]);

  // `readings` is subscribed once we know the gateway: one without stream history (its
  // `authenticated` carries no epoch) refuses `replay`, and then the chart starts from the HTTP history alone.
  const liveTopic = identity ? 'readings' : null;
  const replay = identity?.epoch === undefined ? undefined : LIVE_REPLAY;
  const { error: refusal } = useTopic(
    liveTopic,
    'reading:new',
    (reading) => {
      book.addReading(reading);
      loadSeries(reading.sensorId, reading.metric);
      redraw();
    },
    { replay, onRecoveryFailed: () => setReloads((count) => count + 1) },
  );
  useTopic(
    liveTopic,
    'reading:batch',
    ({ readings }) => {
      for (const reading of readings) {
        book.addReading(reading);
        loadSeries(reading.sensorId, reading.metric);
      }
      redraw();
    },
    { replay },
  );
  useTopic('predictions', 'prediction:completed', (prediction) => {
    book.addPrediction(prediction);
    redraw();
  });
  useTopic('anomalies', 'anomaly:detected', (anomaly) => {
    book.addAnomaly(anomaly);
    redraw();
  });

  const alarms = activeBySeries(useActiveAlarms().values());
  const all = [...book.series.values()].sort((a, b) => a.key.localeCompare(b.key));
  return (
    <section className="charts" aria-label="Live readings">
      <div className="charts-head">
        <h2>Live readings</h2>
        <div className="ranges" role="radiogroup" aria-label="Range">
          {(Object.keys(RANGES) as RangeName[]).map((name) => (
            <button
              key={name}
              type="button"
              role="radio"
              aria-checked={name === range}
              data-range={name}
              className={name === range ? 'active' : undefined}
              onClick={() => setRange(name)}
            >
              {RANGES[name].label}
            </button>
          ))}
        </div>
      </div>
      {refusal && <p className="error">{refusal.message}</p>}
      {historyError && <p className="error">History: {historyError}</p>}
      {all.length === 0 && <p className="muted">Waiting for readings… publish one with `mosquitto_pub -t sensors/boiler-1/temperature -m 21.5`.</p>}
      <div className="chart-grid">
        {all.slice(0, MAX_CHARTS).map((series) => (
          <MetricChart key={series.key} series={series} version={version} alarms={alarms.get(series.key) ?? NO_ALARMS} />
        ))}
      </div>
      {all.length > MAX_CHARTS && <p className="muted">and {all.length - MAX_CHARTS} more series not drawn</p>}
    </section>
  );
}

/** The first page of sensors and the metrics each has reported (`GET sensors`, then `GET sensors/:id/latest`). */
async function discoverSeries(api: Api): Promise<{ sensorId: string; metric: string }[]> {
  const body = await api<unknown>('GET', `sensors?limit=${MAX_CHARTS}`);
  const sensors = (Array.isArray(body) ? body : ((body as { items?: unknown[] }).items ?? [])) as { id: string }[];
  const latest = await Promise.all(
    sensors.slice(0, MAX_CHARTS).map((sensor) => api<Record<string, unknown>>('GET', `sensors/${encodeURIComponent(sensor.id)}/latest`).catch(() => ({}))),
  );
  return sensors.slice(0, MAX_CHARTS).flatMap((sensor, index) => Object.keys(latest[index] ?? {}).map((metric) => ({ sensorId: sensor.id, metric })));
}

function chartOptions(series: MetricSeries, width: number): uPlot.Options {
  return {
    width,
    height: CHART_HEIGHT,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [{}, { label: series.unit, size: 50 }],
    series: [
      {},
      { label: series.metric, stroke: '#2563eb', width: 2, spanGaps: true, points: { show: false } },
      { label: 'forecast', stroke: '#7c3aed', width: 2, dash: [6, 4], spanGaps: true, points: { show: true, size: 4 } },
      { label: 'anomaly', stroke: '#dc2626', fill: '#dc2626', paths: () => null, points: { show: true, size: 9, fill: '#dc2626' } },
    ],
  };
}

const NO_ALARMS: AlarmPayload[] = [];

/** One series' chart; its active alarms (if any) mark its frame and caption. */
function MetricChart({ series, version, alarms }: { series: MetricSeries; version: number; alarms: AlarmPayload[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = box.current!;
    const chart = new uPlot(chartOptions(series, element.clientWidth || 400), toColumns(series), element);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: element.clientWidth, height: CHART_HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // One uPlot per series for the chart's lifetime; data changes go through setData below.
  }, [series.key]);

  useEffect(() => {
    plot.current?.setData(toColumns(series));
  }, [series, version]);

  const latest = series.readings.at(-1);
  const worst = alarms.find((alarm) => alarm.severity === 'critical') ?? alarms[0];
  return (
    <figure
      className={worst ? `chart alarmed ${worst.severity}` : 'chart'}
      data-testid="chart"
      data-alarm={worst?.severity ?? ''}
      data-series={series.key}
      data-first-ts={series.readings[0]?.ts}
      data-last-ts={series.readings.at(-1)?.ts}
      data-points={series.readings.length}
      data-anomalies={series.anomalies.length}
      data-forecast={series.forecast.length}
    >
      <figcaption>
        <strong>{series.sensorId}</strong> {series.metric}
        {worst && (
          <a href="#alarms" className="chart-alarm" data-testid="chart-alarm">
            {' '}
            ⚠ {alarms.map((alarm) => `${alarm.type} ${alarm.severity}${alarm.acknowledged ? ' (ack)' : ''}`).join(', ')}
          </a>
        )}
        {latest && (
          <span className="latest">
            {' '}
            {latest.value.toFixed(2)}
            {series.unit ?? ''}
          </span>
        )}
      </figcaption>
      <div ref={box} className="plot" />
    </figure>
  );
}
