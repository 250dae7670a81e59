import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import { useTopic } from '../hooks/index.js';
import { SeriesBook, toColumns, type MetricSeries } from './chart-data.js';

const MAX_CHARTS = 12;
const CHART_HEIGHT = 180;
/** Redraws are batched: a fast stream must not re-render React per reading. */
const REDRAW_EVERY_MS = 100;

/** A live line chart per sensor metric, with the forecast dashed after it and anomalies marked on it. */
export function SensorCharts() {
  const bookRef = useRef<SeriesBook | null>(null);
  const book = (bookRef.current ??= new SeriesBook());
  const [version, setVersion] = useState(0);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const redraw = (): void => {
    pending.current ??= setTimeout(() => {
      pending.current = null;
      setVersion((count) => count + 1);
    }, REDRAW_EVERY_MS);
  };
  useEffect(() => () => clearTimeout(pending.current ?? undefined), []);

  const refusal = useTopic('readings', 'reading:new', (reading) => {
    book.addReading(reading);
    redraw();
  });
  useTopic('readings', 'reading:batch', ({ readings }) => {
    for (const reading of readings) book.addReading(reading);
    redraw();
  });
  useTopic('predictions', 'prediction:completed', (prediction) => {
    book.addPrediction(prediction);
    redraw();
  });
  useTopic('anomalies', 'anomaly:detected', (anomaly) => {
    book.addAnomaly(anomaly);
    redraw();
  });

  const all = [...book.series.values()].sort((a, b) => a.key.localeCompare(b.key));
  return (
    <section className="charts" aria-label="Live readings">
      <h2>Live readings</h2>
      {refusal && <p className="error">{refusal.message}</p>}
      {all.length === 0 && <p className="muted">Waiting for readings… publish one with `mosquitto_pub -t sensors/boiler-1/temperature -m 21.5`.</p>}
      <div className="chart-grid">
        {all.slice(0, MAX_CHARTS).map((series) => (
          <MetricChart key={series.key} series={series} version={version} />
        ))}
      </div>
      {all.length > MAX_CHARTS && <p className="muted">and {all.length - MAX_CHARTS} more series not drawn</p>}
    </section>
  );
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

function MetricChart({ series, version }: { series: MetricSeries; version: number }) {
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
  return (
    <figure className="chart" data-testid="chart" data-series={series.key} data-points={series.readings.length} data-anomalies={series.anomalies.length} data-forecast={series.forecast.length}>
      <figcaption>
        <strong>{series.sensorId}</strong> {series.metric}
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
