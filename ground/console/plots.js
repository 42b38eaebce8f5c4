// Live plots of the isru console: the server sends only new samples, batched (about 10 per second);
// this keeps each chart's recent window and redraws it. Latency of every drawn sample (draw time minus the
// sample's flight time stamp, ms) is kept in `latencies` for the benchmark; `drawn` counts samples drawn.
window.isruPlots = window.isruPlots || {
  state: {},
  latencies: [],
  maxLatencies: 50000,
  drawn: 0,
  reset(id) {
    delete this.state[id];
  },
  append(batch) {
    const stamps = [];
    for (const [id, plot] of Object.entries(batch)) {
      const state = (this.state[id] ||= { series: [], windowMs: plot.w, maxPoints: plot.n });
      for (const [index, points] of plot.s) {
        const data = (state.series[index] ||= []);
        for (const point of points) {
          data.push(point);
          stamps.push(point[0]);
        }
        const newest = data.length ? data[data.length - 1][0] : 0;
        let drop = 0;
        while (drop < data.length && (data[drop][0] < newest - state.windowMs || data.length - drop > state.maxPoints)) drop++;
        if (drop) data.splice(0, drop);
      }
      const element = getElement(id);
      if (element && element.chart) {
        element.chart.setOption({ series: state.series.map((data) => ({ data: data })) });
      }
    }
    if (!stamps.length) return;
    requestAnimationFrame(() => {
      const now = Date.now();
      for (const t of stamps) this.latencies.push(now - t);
      if (this.latencies.length > this.maxLatencies) this.latencies.splice(0, this.latencies.length - this.maxLatencies);
      this.drawn += stamps.length;
    });
  },
  takeLatencies() {
    const out = this.latencies;
    this.latencies = [];
    return out;
  },
};
