// Live charts: events/s, replies/s, reply latency (p50, p99) and the backlog, one point a second
// from the server (services/metrics/live.ts, the same numbers as GET /metrics). Plain SVG lines,
// no library. Shared by the emulator's inspector (its own event stream) and the live dashboard
// (points arrive on the dashboard's authenticated stream).
const SVG = 'http://www.w3.org/2000/svg';
/** Two minutes at one point a second. */
const SHOWN = 120;
const W = 240;
const H = 56;

const CHARTS = [
  { id: 'events', title: 'Events handled', unit: '/s', series: [{ key: 'events_per_s', label: 'events/s' }] },
  { id: 'replies', title: 'Replies sent', unit: '/s', series: [{ key: 'replies_per_s', label: 'replies/s' }] },
  {
    id: 'latency',
    title: 'Reply latency',
    unit: 'ms',
    series: [
      { key: 'latency_p50_s', label: 'p50', scale: 1000 },
      { key: 'latency_p99_s', label: 'p99', scale: 1000 },
    ],
  },
  {
    id: 'backlog',
    title: 'Backlog',
    unit: '',
    series: [
      { key: 'inbox', label: 'inbox', from: (p) => p.backlog?.inbox },
      { key: 'outbox', label: 'outbox', from: (p) => p.backlog?.outbox },
    ],
  },
];

export function createLiveCharts(container) {
  let points = [];
  const figures = CHARTS.map((chart) => figureFor(chart));
  container.replaceChildren(...figures.map((f) => f.node));
  container.dataset.points = '0';
  figures.forEach((f) => f.draw([]));

  const draw = () => {
    const shown = points.slice(-SHOWN);
    container.dataset.points = String(points.length);
    figures.forEach((f) => f.draw(shown));
  };

  /** Replaces the history (the stream's `ready` event). */
  const reset = (history) => {
    points = Array.isArray(history) ? history.slice(-SHOWN) : [];
    draw();
  };
  /** One new point (the stream's `metrics` event). */
  const add = (point) => {
    points.push(point);
    if (points.length > SHOWN * 2) points = points.slice(-SHOWN);
    draw();
  };
  /** Emulator mode: follows the charts' own stream; returns a function that closes it. */
  const follow = (url) => {
    const source = new EventSource(url);
    source.addEventListener('ready', (event) => reset(JSON.parse(event.data).points));
    source.addEventListener('metrics', (event) => add(JSON.parse(event.data)));
    return () => source.close();
  };
  return { reset, add, follow };
}

function figureFor(chart) {
  const value = document.createElement('span');
  value.className = 'chart-value';
  const caption = document.createElement('figcaption');
  caption.append(Object.assign(document.createElement('span'), { className: 'chart-title', textContent: chart.title }), value);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  const grid = document.createElementNS(SVG, 'line');
  for (const [k, v] of Object.entries({ x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, class: 'chart-axis' })) grid.setAttribute(k, String(v));
  svg.append(grid);
  const lines = chart.series.map((s, i) => {
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('class', `chart-line series-${i}`);
    line.setAttribute('fill', 'none');
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    line.dataset.series = s.key;
    svg.append(line);
    return line;
  });
  const legend = chart.series.length > 1 ? document.createElement('span') : undefined;
  if (legend) {
    legend.className = 'chart-legend';
    chart.series.forEach((s, i) => legend.append(Object.assign(document.createElement('span'), { className: `series-${i}`, textContent: s.label })));
  }
  // The top of the scale, over the plot (SVG text would stretch with the plot).
  const scale = Object.assign(document.createElement('span'), { className: 'chart-scale' });
  const plot = Object.assign(document.createElement('div'), { className: 'chart-plot' });
  plot.append(svg, scale);
  const node = document.createElement('figure');
  node.className = 'chart';
  node.dataset.chart = chart.id;
  node.setAttribute('role', 'img');
  node.append(caption, plot, ...(legend ? [legend] : []));

  const read = (s, p) => {
    const raw = s.from ? s.from(p) : p[s.key];
    return typeof raw === 'number' && Number.isFinite(raw) ? raw * (s.scale ?? 1) : null;
  };

  return {
    node,
    draw(points) {
      const values = chart.series.map((s) => points.map((p) => read(s, p)));
      const max = niceCeiling(Math.max(0, ...values.flat().filter((v) => v !== null)));
      scale.textContent = format(max, chart.unit);
      values.forEach((vs, i) => {
        const step = W / Math.max(1, SHOWN - 1);
        const offset = (SHOWN - vs.length) * step;
        // A gap (no replies in the window: no latency) breaks the line rather than dropping to 0.
        const coords = vs.map((v, j) => (v === null ? null : `${(offset + j * step).toFixed(1)},${(H - 2 - (v / max) * (H - 6)).toFixed(1)}`));
        lines[i].setAttribute('points', coords.filter((c) => c !== null).join(' '));
      });
      const last = points.at(-1);
      const text = last === undefined ? '–' : chart.series.map((s) => `${s.label} ${format(read(s, last), chart.unit)}`).join(' · ');
      value.textContent = text;
      node.dataset.max = String(Math.max(0, ...values.flat().filter((v) => v !== null)));
      node.dataset.last = last === undefined ? '' : String(read(chart.series[0], last) ?? '');
      node.setAttribute('aria-label', `${chart.title}: ${text}`);
    },
  };
}

/** 1, 2 or 5 times a power of ten, at least the value (and at least 1): a scale that reads easily. */
function niceCeiling(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((c) => c >= value) ?? 10 * power;
}

function format(value, unit) {
  if (value === null) return '–';
  const rounded = value >= 100 ? Math.round(value) : Math.round(value * 10) / 10;
  return unit === 'ms' ? `${rounded} ms` : String(rounded);
}
