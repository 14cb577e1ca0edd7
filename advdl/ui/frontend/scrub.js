// The lab's drag sliders (advdl/ui/scrub.py): two st.components.v2 components share this file.
// "strip": one image over several sliders; "panel": several images under one slider. The server
// renders every step's frame in one batch; the browser swaps them while a thumb moves and
// commits the step on release (or a keyboard step) as {epoch, indices}: the epoch is the one the
// server sent, so that a commit made before the server reset the sliders is recognised as stale.

function sliderRow() {
  const row = document.createElement('div');
  row.className = 'scrub-row';
  const label = document.createElement('label');
  const name = document.createElement('span');
  const out = document.createElement('output');
  label.append(name, out);
  const input = document.createElement('input');
  input.type = 'range'; input.min = '0'; input.step = '1';
  row.append(label, input);
  return { row, name, out, input };
}

// A pack (advdl/ui/scrub.py: Pack): a slider's frames as one static file, fetched once per page
// and kept; its PNGs are cut out as blobs and shown by object URLs.
const packs = (window.__advdlPacks = window.__advdlPacks || {});
function loadPack(p) {
  if (!packs[p.url]) {
    packs[p.url] = fetch(p.url)
      .then((r) => { if (!r.ok) throw new Error(`${p.url}: ${r.status}`); return r.arrayBuffer(); })
      .then((buf) => p.offsets.slice(0, -1).map((o, i) => URL.createObjectURL(new Blob([buf.slice(o, p.offsets[i + 1])], { type: 'image/png' }))))
      .catch((e) => { delete packs[p.url]; throw e; });
  }
  return packs[p.url];
}

function strip(component, data) {
  const { parentElement, setStateValue } = component;
  const root = parentElement.querySelector('.scrub');
  const img = root.querySelector('.scrub-img');
  const box = root.querySelector('.scrub-sliders');
  const cap = root.querySelector('.scrub-cap');
  const size = data.size;
  img.width = size; img.height = size;
  img.style.width = size + 'px';  // at most: a narrower column shrinks it (max-width), square
  cap.textContent = data.caption || '';
  box.style.setProperty('--cols', String(data.columns || 1));
  // Decode every frame once, so swapping is only a src change of a cached image. A lazy
  // scrubber's first render holds only the committed frames ('' for the others): it asks for
  // the rest at once, and the server sends them in a rerun of its own, after the page is drawn.
  const frames = data.sliders.map((s) => s.frames.map((f) => { if (!f) return ''; const im = new Image(); im.src = f; return im.src; }));
  if (data.pending) setTimeout(() => setStateValue('ready', true), 0);
  // data-frames="all" once every frame is here (inline, or cut from the packs)
  const complete = () => { root.dataset.frames = frames.every((f) => f.every(Boolean)) ? 'all' : 'some'; };
  complete();
  data.sliders.forEach((s, k) => {
    if (!s.pack) return;
    loadPack(s.pack)
      .then((urls) => { urls.forEach((u, i) => { if (!frames[k][i]) frames[k][i] = u; }); complete(); })
      .catch(() => setStateValue('nopack', true));  // the server sends the frames inline instead
  });
  const fmt = (v, d) => Number(v).toFixed(d);
  // The sliders outlive a rerun (same <input> elements, new frames and values), so that a
  // keyboard focus, or a thumb the student is moving, survives the frames arriving (a lazy
  // scrubber) or a commit's rerun. A thumb whose committed value the server did not change
  // stays where the student has it.
  const sent = data.sliders.map((s) => s.index);
  let rows = root.__rows;
  const keep = rows && rows.length === data.sliders.length && root.__sent;
  if (!keep) {
    rows = data.sliders.map(() => sliderRow());
    box.replaceChildren(...rows.map((r) => r.row));
  }
  const index = sent.map((i, k) => (keep && root.__sent[k] === i ? Number(rows[k].input.value) : i));
  root.__rows = rows;
  root.__sent = sent;
  const commit = () => setStateValue('commit', { epoch: data.epoch, indices: index.slice() });
  const moved = index.findIndex((i, k) => i !== sent[k]);  // a thumb moved and not yet committed
  const k0 = moved < 0 ? 0 : moved;
  img.src = frames[k0][index[k0]] || frames[0][sent[0]];
  data.sliders.forEach((s, k) => {
    const { name, out, input } = rows[k];
    name.textContent = s.label;  // textContent: labels are never parsed as HTML
    input.setAttribute('aria-label', s.label);
    input.max = String(s.values.length - 1);
    input.value = String(index[k]);
    input.dataset.k = String(k);
    out.textContent = fmt(s.values[index[k]], s.decimals);
    input.oninput = () => {
      const i = Number(input.value);
      if (frames[k][i]) img.src = frames[k][i];
      out.textContent = fmt(s.values[i], s.decimals);
      index[k] = i;
    };
    input.onchange = commit;  // release, or a keyboard step
  });
}

function panel(component, data) {
  const { parentElement, setStateValue } = component;
  const root = parentElement.querySelector('.pscrub');
  const grid = root.querySelector('.pscrub-grid');
  const box = root.querySelector('.scrub-sliders');
  grid.style.setProperty('--cols', String(data.columns));
  // frames[step][panel]: decoded once, so that moving the thumb only swaps sources
  const frames = data.frames.map((step) => step.map((f) => { const im = new Image(); im.src = f; return im.src; }));
  // The figures outlive a rerun (same elements, new sources), so nothing flickers or is rebuilt.
  let figs = root.__figs;
  if (!figs || figs.length !== data.captions[0].length) {
    figs = data.captions[0].map(() => {
      const fig = document.createElement('figure'); fig.className = 'pscrub-fig';
      const img = document.createElement('img'); img.className = 'pscrub-img'; img.alt = '';
      const cap = document.createElement('figcaption'); cap.className = 'pscrub-cap';
      const met = document.createElement('div'); met.className = 'pscrub-metrics';
      fig.append(img, cap, met);
      return { fig, img, cap, met };
    });
    grid.replaceChildren(...figs.map((f) => f.fig));
    root.__figs = figs;
  }
  let index = data.index;
  const show = (i) => figs.forEach((f, m) => {
    f.img.src = frames[i][m];
    f.cap.textContent = data.captions[i][m];  // textContent: never parsed as HTML
    f.met.textContent = data.metrics[i][m];
  });
  show(index);
  // The slider too: the same <input> across reruns, so a drag or the keyboard focus survives one.
  if (!root.__slider) {
    root.__slider = sliderRow();
    box.replaceChildren(root.__slider.row);
  }
  const { name, out, input } = root.__slider;
  const fmt = (i) => Number(data.values[i]).toFixed(data.decimals);
  name.textContent = data.label;
  input.setAttribute('aria-label', data.label);
  input.max = String(data.values.length - 1);
  input.value = String(index);
  out.textContent = fmt(index);
  input.oninput = () => { index = Number(input.value); show(index); out.textContent = fmt(index); };
  input.onchange = () => setStateValue('commit', { epoch: data.epoch, indices: [index] });  // release, or a keyboard step
}

export default function (component) {
  const data = component.data[0];  // sent inside a list (see send() in scrub.py)
  return data.panel ? panel(component, data) : strip(component, data);
}
