// The GAN training playground's view: real and fake points, D(x) as a heatmap, G's manifold and
// the generator's gradients on one canvas, the first epoch beside it, and small charts.
// The server sends a snapshot a few times a second (advdl.gan_training.pack); between two, the
// view is tweened with requestAnimationFrame so that motion stays smooth. While playing, the
// component asks for the next tick itself (a state change the server answers with a snapshot),
// so a slow server is never sent more ticks than it has answered.

function b64bytes(s) {
  const bin = atob(s || '');
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
function int16(s, scale) {  // int16 little-endian -> Float32Array, times scale / 32767
  const b = b64bytes(s);
  const v = new DataView(b.buffer);
  const out = new Float32Array(b.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = v.getInt16(2 * i, true) / 32767 * scale;
  return out;
}
function uint8f(s) {
  const b = b64bytes(s);
  const out = new Float32Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b[i] / 255;
  return out;
}
function sig(s) {  // a short signature of a payload string, for tests to compare views
  let h = 2166136261;
  for (let i = 0; i < (s || '').length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return (h >>> 0).toString(16);
}
function decode(snap, box) {
  if (!snap) return null;
  const out = { fake: int16(snap.fake, box), heat: uint8f(snap.heat), epoch: snap.epoch, sigFake: sig(snap.fake), sigHeat: sig(snap.heat) };
  if (snap.real !== undefined) {
    out.real = int16(snap.real, box);
    out.manifold = int16(snap.manifold, box);
    out.grad = int16(snap.grad, snap.grad_scale);
  }
  return out;
}
function lerpArr(a, b, t) {
  if (!a || !b || a.length !== b.length) return b;
  const out = new Float32Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = a[i] + (b[i] - a[i]) * t;
  return out;
}
// Diverging scale for D(x): purple (fake, 0) - white (0.5) - green (real, 1), as GAN Lab.
function heatColour(p) {
  const lo = [118, 42, 131], mid = [247, 247, 247], hi = [27, 120, 55];
  const [a, b, t] = p < 0.5 ? [lo, mid, p / 0.5] : [mid, hi, (p - 0.5) / 0.5];
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
}
const LAYERS = ['heat', 'manifold', 'real', 'fake', 'grad'];
const CHART_H = 40;

export default function (component) {
  const { parentElement, setStateValue } = component;
  const data = component.data[0];  // sent inside a list (see advdl.ui.scrub.send)
  const root = parentElement.querySelector('.gcan');
  const L = data.labels;
  const box = data.box;

  // -- elements that outlive reruns (the canvas keeps its drawing, toggles their state)
  if (!root.__built) {
    root.__built = true;
    root.__layers = Object.fromEntries(LAYERS.map((k) => [k, true]));
    root.__drawn = null;
    const toggles = root.querySelector('.gcan-toggles');
    for (const k of LAYERS) {
      const lab = document.createElement('label');
      const cb = document.createElement('input');
      cb.type = 'checkbox'; cb.checked = true; cb.dataset.layer = k;
      cb.onchange = () => { root.__layers[k] = cb.checked; root.__paint(); };
      const span = document.createElement('span');
      lab.append(cb, span);
      toggles.append(lab);
    }
    const main = root.querySelector('.gcan-main');
    const spray = (ev) => {
      if (!root.__data.draw) return;
      const r = main.getBoundingClientRect();
      const x = ((ev.clientX - r.left) / r.width) * 2 * box - box;
      const y = box - ((ev.clientY - r.top) / r.height) * 2 * box;
      root.__drawn = root.__drawn || [];
      for (let i = 0; i < 4; i++) {  // a spray: a few points around the pointer
        const a = Math.random() * 2 * Math.PI, d = Math.random() * 0.05;
        root.__drawn.push(Math.max(-1, Math.min(1, x + d * Math.cos(a))), Math.max(-1, Math.min(1, y + d * Math.sin(a))));
      }
      root.__paint();
    };
    main.addEventListener('pointerdown', (ev) => { if (!root.__data.draw) return; root.__spraying = true; main.setPointerCapture(ev.pointerId); spray(ev); });
    main.addEventListener('pointermove', (ev) => { if (root.__spraying) spray(ev); });
    const end = () => {
      if (!root.__spraying) return;
      root.__spraying = false;
      const pts = (root.__drawn || []).map((v) => Math.round(v * 1000) / 1000);
      root.__setState('drawn', pts);
    };
    main.addEventListener('pointerup', end);
    main.addEventListener('pointercancel', end);
    root.__frames = 0;
    // Play/Pause and the steps: a press is a new action in the component's state (its id tells
    // the server it has not seen it), which reruns only the canvas's fragment
    const bar = parentElement.querySelector('.gcan-buttons');
    root.__buttons = {};
    for (const name of ['play', 'step_d', 'step_g', 'step_both', 'reset']) {
      const b = document.createElement('button');
      b.type = 'button'; b.dataset.action = name;
      if (name === 'play') b.className = 'primary';
      b.onclick = () => {
        const act = name === 'play' && root.__data.playing ? 'pause' : name;
        root.__setState('action', { name: act, id: Date.now() + Math.random() });
      };
      bar.append(b);
      root.__buttons[name] = b;
    }
  }
  root.__data = data;
  root.__setState = setStateValue;
  root.querySelectorAll('.gcan-toggles span').forEach((s, i) => { s.textContent = L['layer_' + LAYERS[i]]; });
  for (const [name, b] of Object.entries(root.__buttons)) {
    b.textContent = name === 'play' ? (data.playing ? L.btn_pause : L.btn_play) : L['btn_' + name];
    b.title = L['btn_' + name + '_help'] || '';
  }
  root.querySelector('.gcan-first-cap').textContent = L.first;
  root.querySelector('.gcan-help').textContent = L.help;
  if (data.clear_drawing) root.__drawn = null;
  if (data.drawn && !root.__spraying && !root.__drawn) root.__drawn = Array.from(int16(data.drawn, box));

  // -- sizes: the main canvas fits its column and the projector's height
  const mainC = root.querySelector('.gcan-main');
  const firstC = root.querySelector('.gcan-first');
  const charts = [...root.querySelectorAll('.gcan-chart')];
  // beside the side panel (200 px) when there is room, and within the window's height
  const wide = root.clientWidth >= 520;
  root.style.flexWrap = wide ? 'nowrap' : 'wrap';
  const avail = Math.round(Math.max(200, Math.min(data.size, wide ? root.clientWidth - 224 : root.clientWidth, window.innerHeight - 310)));
  const dpr = window.devicePixelRatio || 1;
  const fit = (c, w, h) => { c.style.width = w + 'px'; c.style.height = h + 'px'; c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); };
  if (root.__size !== avail) { fit(mainC, avail, avail); fit(firstC, 96, 96); charts.forEach((c) => fit(c, 200, CHART_H)); root.__size = avail; }

  // -- the snapshots: the one shown now becomes the tween's start
  const now = performance.now();
  const next = decode(data.snap, box);
  const shown = root.__shown ? root.__current() : null;
  const gap = root.__arrived ? now - root.__arrived : 300;
  root.__arrived = now;
  root.__from = shown && next && shown.fake.length === next.fake.length ? shown : next;
  root.__to = next;
  root.__t0 = now;
  root.__dur = data.playing ? Math.max(120, Math.min(1000, gap)) : 350;
  root.__first = decode(data.first, box);
  root.__current = () => {
    const a = root.__from, b = root.__to;
    if (!b) return null;
    const t = Math.min(1, (performance.now() - root.__t0) / root.__dur);
    const e = t < 1 ? 1 - Math.pow(1 - t, 2) : 1;
    return { fake: lerpArr(a.fake, b.fake, e), heat: lerpArr(a.heat, b.heat, e), manifold: lerpArr(a.manifold, b.manifold, e),
             grad: lerpArr(a.grad, b.grad, e), real: b.real, t };
  };
  root.dataset.epoch = next ? String(next.epoch) : '';
  root.dataset.stepsD = data.snap ? String(data.snap.steps_d) : '';
  root.dataset.stepsG = data.snap ? String(data.snap.steps_g) : '';
  root.dataset.fakeSig = next ? next.sigFake : '';
  root.dataset.heatSig = next ? next.sigHeat : '';
  root.dataset.playing = data.playing ? '1' : '0';
  if (next && next.real) {  // where the real points are: a test sees a drawing become the data
    let sx = 0, sy = 0;
    for (let i = 0; i < next.real.length; i += 2) { sx += next.real[i]; sy += next.real[i + 1]; }
    root.dataset.realMean = (2 * sx / next.real.length).toFixed(3) + ',' + (2 * sy / next.real.length).toFixed(3);
  }

  // -- painting
  const X = (x, s) => ((x + box) / (2 * box)) * s;
  const Y = (y, s) => (1 - (y + box) / (2 * box)) * s;
  const heatCanvas = root.__heatCanvas || (root.__heatCanvas = document.createElement('canvas'));
  const paintHeat = (ctx, heat, s) => {
    const n = data.heat_cells;
    heatCanvas.width = n; heatCanvas.height = n;
    const hctx = heatCanvas.getContext('2d');
    const img = hctx.createImageData(n, n);
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
      const [R, G, B] = heatColour(heat[r * n + c]);
      const o = ((n - 1 - r) * n + c) * 4;  // row 0 is y = -box: the bottom
      img.data[o] = R; img.data[o + 1] = G; img.data[o + 2] = B; img.data[o + 3] = 255;
    }
    hctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatCanvas, 0, 0, s, s);
  };
  const dots = (ctx, pts, s, colour, r) => {  // one path and one fill for all: far cheaper than a fill per dot
    ctx.fillStyle = colour;
    ctx.beginPath();
    for (let i = 0; i + 1 < pts.length; i += 2) { const x = X(pts[i], s), y = Y(pts[i + 1], s); ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 2 * Math.PI); }
    ctx.fill();
  };
  root.__paint = () => {
    const cur = root.__current();
    const s = root.__size;
    const ctx = mainC.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, s, s);
    ctx.fillStyle = '#fafafa'; ctx.fillRect(0, 0, s, s);
    const lay = root.__layers;
    const stage = root.__stage || '';
    if (cur) {
      if (lay.heat) paintHeat(ctx, cur.heat, s);
      if (lay.manifold && cur.manifold) {
        ctx.strokeStyle = 'rgba(60,60,60,0.35)'; ctx.lineWidth = 1;
        const m = cur.manifold;
        if (data.snap.manifold_2d) {
          const k = data.manifold_cells + 1;
          for (let dir = 0; dir < 2; dir++) for (let a = 0; a < k; a++) {
            ctx.beginPath();
            for (let b = 0; b < k; b++) { const i = dir ? (b * k + a) : (a * k + b); const px = X(m[2 * i], s), py = Y(m[2 * i + 1], s); b ? ctx.lineTo(px, py) : ctx.moveTo(px, py); }
            ctx.stroke();
          }
        } else {
          ctx.lineWidth = 2; ctx.beginPath();
          for (let i = 0; i < m.length / 2; i++) { const px = X(m[2 * i], s), py = Y(m[2 * i + 1], s); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); }
          ctx.stroke();
        }
      }
      if (lay.real && cur.real) dots(ctx, cur.real, s, 'rgba(27,120,55,0.85)', 2.2);
      if (lay.fake) dots(ctx, cur.fake, s, 'rgba(118,42,131,0.9)', 2.6);
      if ((lay.grad || stage === 'grad') && cur.grad) {
        ctx.strokeStyle = 'rgba(231,41,138,0.85)'; ctx.lineWidth = 1.3;
        const k = 0.12 / Math.max(1e-6, data.grad_ref || 1);  // a fixed scale: a vanishing gradient looks vanishing
        ctx.beginPath();
        for (let i = 0; i + 1 < cur.fake.length; i += 2) {
          let gx = cur.grad[i] * k, gy = cur.grad[i + 1] * k;
          const len = Math.hypot(gx, gy);
          if (len > 0.25) { gx *= 0.25 / len; gy *= 0.25 / len; }
          const x0 = X(cur.fake[i], s), y0 = Y(cur.fake[i + 1], s), x1 = X(cur.fake[i] + gx, s), y1 = Y(cur.fake[i + 1] + gy, s);
          ctx.moveTo(x0, y0); ctx.lineTo(x1, y1);
        }
        ctx.stroke();
      }
    }
    if (root.__drawn && data.draw) dots(ctx, root.__drawn, s, 'rgba(230,120,0,0.9)', 2.2);
    if (stage) {  // the sub-step being narrated: a highlight around what it concerns
      ctx.strokeStyle = '#e7298a'; ctx.lineWidth = 4; ctx.strokeRect(2, 2, s - 4, s - 4);
    }
    root.__frames += 1;
    root.dataset.frames = String(root.__frames);
    return cur ? cur.t : 1;
  };
  const paintFirst = () => {
    const ctx = firstC.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, 96, 96);
    const f = root.__first;
    if (!f) return;
    paintHeat(ctx, f.heat, 96);
    if (root.__to && root.__to.real) dots(ctx, root.__to.real, 96, 'rgba(27,120,55,0.8)', 1.1);
    dots(ctx, f.fake, 96, 'rgba(118,42,131,0.9)', 1.3);
  };
  const paintChart = (c, series, lo, hi, refLine) => {
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const w = 200, h = CHART_H;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = '#f4f4f4'; ctx.fillRect(0, 0, w, h);
    const vals = series.flatMap((s) => Array.from(s.v).filter(Number.isFinite));
    if (!vals.length) return;
    const a = lo ?? Math.min(...vals), b = hi ?? Math.max(...vals, a + 1e-6);
    const yy = (v) => h - 3 - ((v - a) / (b - a || 1)) * (h - 6);
    if (refLine !== undefined) { ctx.strokeStyle = '#999'; ctx.setLineDash([3, 3]); ctx.beginPath(); ctx.moveTo(0, yy(refLine)); ctx.lineTo(w, yy(refLine)); ctx.stroke(); ctx.setLineDash([]); }
    for (const s of series) {
      ctx.strokeStyle = s.colour; ctx.lineWidth = 1.5; ctx.beginPath();
      const n = s.v.length;
      for (let i = 0; i < n; i++) { const x = n > 1 ? (i / (n - 1)) * w : 0; i ? ctx.lineTo(x, yy(s.v[i])) : ctx.moveTo(x, yy(s.v[i])); }
      ctx.stroke();
    }
  };
  const cv = (k) => (data.snap && data.snap.curves[k] ? int16(data.snap.curves[k].data, data.snap.curves[k].scale) : new Float32Array(0));
  const info = root.querySelectorAll('.gcan-info');
  if (data.snap) {
    paintChart(charts[0], [{ v: cv('loss_d'), colour: '#1b7837' }, { v: cv('loss_g'), colour: '#762a83' }]);
    paintChart(charts[1], [{ v: cv('d_real'), colour: '#1b7837' }, { v: cv('d_fake'), colour: '#762a83' }], 0, 1, 0.5);
    // the divergence (orange) and, on the mixtures, the share of modes covered (blue), both in [0, 1]
    const nModes = data.snap.metrics.n_modes;
    const modes = nModes ? Array.from(cv('modes'), (m) => m / nModes) : [];
    paintChart(charts[2], [{ v: cv('js'), colour: '#d95f02' }, { v: modes, colour: '#1f78b4' }], 0, 1);
    info[0].textContent = L.epoch + ' · ' + L.steps;
    info[1].textContent = L.losses;
    info[2].textContent = L.dprob;
    info[3].textContent = L.metrics;
  } else {
    info.forEach((el, i) => { el.textContent = i === 0 ? (L.empty || '') : ''; });
  }
  paintFirst();

  // -- the narration of one update in sub-steps, then the tween to its result
  const narr = root.querySelector('.gcan-narration');
  clearTimeout(root.__stageTimer);
  cancelAnimationFrame(root.__raf);
  const stages = data.stages || [];
  const tickLater = (ms) => {
    clearTimeout(root.__tickTimer);
    if (!data.playing) return;
    root.__tickTimer = setTimeout(() => setStateValue('tick', Date.now()), ms);
  };
  // Tween frames at most every 18 ms (~55/s): smooth, and it leaves a laptop's CPU (or, in the
  // benchmark, the server's) the rest of each 60 Hz frame.
  const animate = (now) => {
    if (now !== undefined && root.__lastPaint && now - root.__lastPaint < 18) { root.__raf = requestAnimationFrame(animate); return; }
    root.__lastPaint = now;
    const t = root.__paint();
    if (t < 1) root.__raf = requestAnimationFrame(animate);
  };
  if (stages.length) {
    // hold the view before the update while the first sub-steps are told
    const before = root.__from;
    root.__to = before; root.__from = before;
    let i = 0;
    const show = () => {
      const st = stages[i];
      narr.textContent = st.text;
      narr.hidden = false;
      root.__stage = st.stage === 'update' ? '' : st.stage;
      if (st.stage === 'update') {  // now the tween to the new state
        root.__from = before || next; root.__to = next; root.__t0 = performance.now(); root.__dur = data.slow_ms * 0.8;
        animate();
      } else {
        root.__paint();
      }
      i += 1;
      if (i < stages.length) root.__stageTimer = setTimeout(show, data.slow_ms);
      else tickLater(data.slow_ms);
    };
    show();
  } else {
    root.__stage = '';
    narr.hidden = !data.narration;
    narr.textContent = data.narration || '';
    animate();
    tickLater(data.next_ms);
  }
}
