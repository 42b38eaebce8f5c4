// Live plots of the isru console. The server sends only new samples, batched (about 10 batches per
// second); this keeps each chart's recent window and redraws each chart at most once per animation frame,
// however many batches arrived meanwhile, so a slow browser draws less often instead of falling behind.
// For the benchmark, the latency of every sample drawn (the frame after its chart was redrawn, minus the
// sample's time stamp, ms) is kept in `latencies`, the time it reached the page in `received`; `drawn`
// counts the samples drawn. Samples published
// before this page was loaded are history, drawn but not timed.
window.isruPlots = window.isruPlots || {
  loaded: Date.now(),
  state: {},
  dirty: new Set(),
  pending: [],
  scheduled: false,
  latencies: [],
  received: [],
  maxLatencies: 100000,
  drawn: 0,
  append(batch) {
    const arrived = Date.now();
    for (const [id, plot] of Object.entries(batch)) {
      const state = (this.state[id] ||= { series: [], windowMs: plot.w, maxPoints: plot.n });
      state.windowMs = plot.w;
      for (const [index, points] of plot.s) {
        const data = (state.series[index] ||= []);
        for (const point of points) {
          // Samples of a channel come in time order; anything not newer is a repeat (a resent message).
          if (data.length && point[0] <= data[data.length - 1][0]) continue;
          data.push(point);
          if (point[0] >= this.loaded) {
            this.pending.push(point[0]);
            if (this.received.length < this.maxLatencies) this.received.push(arrived - point[0]);
          }
        }
        const newest = data.length ? data[data.length - 1][0] : 0;
        let drop = 0;
        while (drop < data.length && (data[drop][0] < newest - state.windowMs || data.length - drop > state.maxPoints)) drop++;
        if (drop) data.splice(0, drop);
      }
      this.dirty.add(id);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => this.draw());
    }
  },
  draw() {
    this.scheduled = false;
    for (const id of this.dirty) {
      const element = getElement(id);
      if (element && element.chart) {
        element.chart.setOption({ series: this.state[id].series.map((data) => ({ data: data })) });
      }
    }
    this.dirty.clear();
    const stamps = this.pending;
    this.pending = [];
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
  takeReceived() {
    const out = this.received;
    this.received = [];
    return out;
  },
};
