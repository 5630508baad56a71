// GET / : the demo page. One self-contained HTML document (no framework, no external
// assets): choose / drop / paste an image or take a webcam snapshot, pick the endpoint,
// model and mode, see the result, the per-stage timings and the last 10 requests.
// The inline <style> and <script> are allowed by a strict CSP through their sha256 hashes
// (pageHeaders()), so the page runs no other script and talks only to its own origin.
// Keep the inline JS free of backticks and "${" (it lives in a template literal).

export const PAGE_STYLE = `
:root{--fg:#1a1a1a;--muted:#4a4a4a;--bg:#f6f7f9;--card:#fff;--line:#c9ced6;--accent:#1d4ed8;--ok:#166534;--bad:#b91c1c}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:60rem;margin:0 auto;padding:0 1rem}
header h1{margin:1rem 0 0;font-size:1.6rem}
header p{margin:.2rem 0 1rem;color:var(--muted)}
main{display:grid;grid-template-columns:1fr 1fr;gap:1rem;padding-bottom:2rem}
@media (max-width:48rem){main{grid-template-columns:1fr}}
.card{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.75rem 1rem}
.wide{grid-column:1/-1}
h2{font-size:1.1rem;margin:0 0 .5rem}
button,select,input{font:inherit;color:inherit}
button{background:var(--accent);color:#fff;border:0;border-radius:.35rem;padding:.4rem .9rem;cursor:pointer}
button:disabled{background:#6b7280;cursor:not-allowed}
button.sec{background:#fff;color:var(--accent);border:1px solid var(--accent)}
:focus-visible{outline:3px solid #c2410c;outline-offset:2px}
.drop{display:block;width:100%;padding:1.5rem 1rem;background:#eef2ff;color:var(--fg);border:2px dashed var(--accent);text-align:center}
.drop.over{background:#dbeafe;border-style:solid}
.drop .big{display:block;font-weight:600;font-size:1.1rem;color:var(--accent)}
.hint{color:var(--muted);font-size:.9rem}
.row{display:flex;align-items:center;gap:.5rem;margin:.4rem 0;flex-wrap:wrap}
.row label{min-width:7.5rem;font-weight:600}
select,input{padding:.3rem .4rem;border:1px solid #6b7280;border-radius:.3rem;background:#fff}
input[type=number]{width:6rem}
#cam{margin-top:.6rem;display:flex;gap:.5rem;flex-wrap:wrap;align-items:center}
#cam[hidden],[hidden]{display:none!important}
video{width:100%;max-height:16rem;background:#000;border-radius:.3rem}
figure{margin:.6rem 0 0}
#preview{max-width:100%;max-height:14rem;border-radius:.3rem;border:1px solid var(--line)}
figcaption{font-size:.85rem;color:var(--muted)}
.badge{display:inline-block;padding:.3rem .8rem;border-radius:1rem;font-weight:700;font-size:1.15rem;color:#fff;margin:.2rem 0}
.badge.yes{background:var(--ok)}
.badge.no{background:#374151}
.error{border-left:4px solid var(--bad);background:#fef2f2;color:#7f1d1d;padding:.5rem .7rem;margin:.3rem 0}
.error code{font-size:.85rem}
ol.preds{list-style:none;padding:0;margin:.3rem 0}
ol.preds li{margin:.35rem 0}
.pl{display:flex;justify-content:space-between;gap:.5rem}
.track{height:.6rem;background:#e5e7eb;border-radius:.3rem;overflow:hidden}
.fill{height:100%;background:var(--accent)}
.tbar{display:flex;height:1.4rem;border:1px solid #6b7280;border-radius:.3rem;overflow:hidden;margin:.5rem 0 .3rem;background:#e5e7eb}
.seg{min-width:2px;border-right:1px solid #fff}
.s-read{background:#2563eb}.s-decode{background:#9333ea}.s-preprocess{background:#b45309}.s-model{background:#0f766e}.s-inference{background:#dc2626}
ul.legend{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.9rem}
.sw{display:inline-block;width:.8rem;height:.8rem;border-radius:.15rem;margin-right:.3rem;vertical-align:-.05rem}
.meta{font-size:.9rem;color:var(--muted);margin:.3rem 0}
.cache{font-weight:700}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

export const PAGE_SCRIPT = `
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var STAGES = ['read', 'decode', 'preprocess', 'model', 'inference'];
  var DEFAULT_MODEL = { classify: 'mobilenet_v2', detect: 'person' };
  var HISTORY_MAX = 10;
  var current = null, history = [], modelIds = [], ladders = null, inflight = null, previewUrl = null, stream = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) { for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]); return parent; }
  function ms(v) { return typeof v === 'number' && isFinite(v) ? (v < 10 ? v.toFixed(1) : String(Math.round(v))) : '-'; }
  function pct(s) { return (Math.max(0, Math.min(1, Number(s) || 0)) * 100).toFixed(1) + '%'; }
  function endpoint() { return $('endpoint').value; }
  function mode() { return $('mode').value; }

  function updateRows() {
    var rows = document.querySelectorAll('[data-for]');
    for (var i = 0; i < rows.length; i++) {
      var f = rows[i].getAttribute('data-for');
      rows[i].hidden = f === 'adaptive' || f === 'full' ? mode() !== f : f !== endpoint();
    }
  }

  function fillModels() {
    var sel = $('model'), want = DEFAULT_MODEL[endpoint()];
    sel.textContent = '';
    add(sel, el('option', '', '(server default)'));
    sel.options[0].value = '';
    modelIds.forEach(function (id) { var o = el('option', '', id); o.value = id; sel.appendChild(o); });
    sel.value = modelIds.indexOf(want) >= 0 ? want : '';
  }

  // Adaptive mode runs a ladder of models (GET /v1/ladders); offered only when the server has one.
  function fillLadders() {
    var sel = $('ladder'), ep = endpoint(), list = (ladders || []).filter(function (l) { return l.task === ep; });
    sel.textContent = '';
    add(sel, el('option', '', '(server default)'));
    sel.options[0].value = '';
    list.forEach(function (l) {
      var o = el('option', '', l.id + (l.stages ? ' (' + l.stages.length + ' stages)' : ''));
      o.value = l.id;
      sel.appendChild(o);
    });
    var ok = list.length > 0, opt = $('mode').querySelector('option[value=adaptive]');
    opt.disabled = !ok;
    if (!ok && mode() === 'adaptive') $('mode').value = 'full';
    $('mode-note').textContent = ladders === null ? 'adaptive: not available on this server'
      : ok ? 'adaptive: a cascade of cheaper models first' : 'adaptive: no ' + ep + ' ladder on this server';
  }

  function loadLadders() {
    fetch('/v1/ladders', { headers: { accept: 'application/json' } }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (d) {
      ladders = d && Array.isArray(d.ladders) ? d.ladders : null;
    }, function () { ladders = null; }).then(function () {
      fillLadders();
      updateRows();
      document.body.setAttribute('data-ladders', ladders ? 'ready' : 'none');
    });
  }

  function loadModels() {
    fetch('/v1/models', { headers: { accept: 'application/json' } }).then(function (r) {
      return r.json().then(function (d) {
        if (!r.ok) throw new Error(d && d.error && d.error.message ? d.error.message : 'HTTP ' + r.status);
        return d;
      });
    }).then(function (d) {
      modelIds = (d.models || []).map(function (m) { return m.id; }).filter(Boolean);
      fillModels();
      $('model-note').textContent = modelIds.length + ' model' + (modelIds.length === 1 ? '' : 's') + ' on the server';
      document.body.setAttribute('data-models', 'ready');
    }).catch(function (e) {
      $('model-note').textContent = 'Could not list models: ' + e.message;
      document.body.setAttribute('data-models', 'error');
    });
  }

  function setImage(blob, name) {
    if (!blob) return;
    current = { blob: blob, name: name || 'image' };
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    var img = $('preview');
    if (/^image\\//.test(blob.type)) {
      previewUrl = URL.createObjectURL(blob);
      img.src = previewUrl;
      img.alt = 'Preview of ' + current.name;
      img.hidden = false;
    } else {
      img.removeAttribute('src');
      img.hidden = true;
    }
    $('preview-cap').textContent = current.name + ' (' + Math.round(blob.size / 1024) + ' KiB' + (blob.type ? ', ' + blob.type : '') + ')';
    $('preview-fig').hidden = false;
    $('send').disabled = false;
    send();
  }

  function requestUrl() {
    var ep = endpoint(), q = new URLSearchParams();
    if (mode() === 'adaptive') {
      q.set('mode', 'adaptive');
      if ($('ladder').value) q.set('ladder', $('ladder').value);
      q.set('confidence', $('confidence').value || '0.9');
    } else if ($('model').value) q.set('model', $('model').value);
    if (ep === 'classify') q.set('top', $('top').value || '5');
    else q.set('threshold', $('threshold').value || '0.5');
    return '/v1/' + ep + '?' + q.toString();
  }

  function send() {
    if (!current) return;
    if (inflight) inflight.abort();
    var ctl = new AbortController();
    inflight = ctl;
    var ep = endpoint(), md = mode(), url = requestUrl(), name = current.name, t0 = performance.now();
    var out = $('result');
    out.setAttribute('aria-busy', 'true');
    out.textContent = '';
    add(out, el('p', 'meta', 'Sending ' + name + ' to ' + url + ' ...'));
    fetch(url, { method: 'POST', body: current.blob, signal: ctl.signal }).then(function (r) {
      return r.text().then(function (t) {
        var d = null;
        try { d = JSON.parse(t); } catch (e) { d = null; }
        return { status: r.status, ok: r.ok, data: d, text: t };
      });
    }).then(function (res) {
      var rtt = performance.now() - t0;
      if (inflight !== ctl) return;
      if (!res.ok || !res.data || res.data.error) {
        var err = res.data && res.data.error ? res.data.error : null;
        var msg = err && err.message ? err.message : 'HTTP ' + res.status + (res.text ? ': ' + res.text.slice(0, 200) : '');
        showError(msg, err && err.code, res.status);
        record({ name: name, ep: ep, model: $('model').value, summary: 'error ' + res.status + ': ' + msg, server: null, rtt: rtt, cache: '' });
        return;
      }
      render(res.data, ep, md, rtt, name);
    }).catch(function (e) {
      if (e && e.name === 'AbortError') return;
      var msg = 'Could not reach the server: ' + (e && e.message ? e.message : String(e));
      showError(msg, 'network', 0);
      record({ name: name, ep: ep, model: $('model').value, summary: msg, server: null, rtt: performance.now() - t0, cache: '' });
    }).then(function () {
      if (inflight === ctl) { inflight = null; out.removeAttribute('aria-busy'); }
    });
  }

  function showError(msg, code, status) {
    var out = $('result');
    out.textContent = '';
    var box = el('div', 'error');
    box.id = 'error';
    add(box, el('strong', '', 'Error' + (status ? ' ' + status : '') + ': '), el('span', 'msg', msg));
    if (code) add(box, el('span', '', ' '), el('code', '', code));
    add(out, box);
  }

  function timingBar(t, cache, rtt) {
    var wrap = el('div', 'timings');
    add(wrap, el('h3', 'sr', 'Timings'));
    var sum = STAGES.reduce(function (s, k) { return s + (Number(t[k]) || 0); }, 0);
    var bar = el('div', 'tbar');
    bar.setAttribute('role', 'img');
    bar.setAttribute('aria-label', 'Server time by stage: ' + STAGES.map(function (k) { return k + ' ' + ms(t[k]) + ' ms'; }).join(', '));
    var legend = el('ul', 'legend');
    STAGES.forEach(function (k) {
      var v = Number(t[k]) || 0;
      if (v > 0 && sum > 0) {
        var seg = el('span', 'seg s-' + k);
        seg.style.flexGrow = String(v / sum);
        seg.title = k + ': ' + ms(v) + ' ms';
        seg.setAttribute('data-stage', k);
        bar.appendChild(seg);
      }
      var li = el('li');
      add(li, el('span', 'sw s-' + k), el('span', '', k + ' ' + ms(v) + ' ms'));
      legend.appendChild(li);
    });
    var meta = el('p', 'meta');
    add(meta, el('span', '', 'Server total ' + ms(t.total) + ' ms, round trip ' + ms(rtt) + ' ms. Model cache: '),
      el('span', 'cache', cache === 'hit' ? 'hit' : 'miss'));
    return add(wrap, bar, legend, meta);
  }

  function num(v, d) { return typeof v === 'number' && isFinite(v) ? (d === undefined ? v.toLocaleString() : v.toFixed(d)) : '-'; }

  function stagesTable(d) {
    var wrap = el('div', 'stages');
    var m = d.macs && typeof d.macs === 'object' ? d.macs : null;
    add(wrap, el('h3', '', 'Adaptive stages' + (d.ladder ? ' (ladder ' + d.ladder + ')' : '')));
    var line = [];
    if (d.stop) line.push('stopped at stage ' + (Number(d.stop.stage) + 1) + ' (' + d.stop.model + '): ' + d.stop.reason);
    if (d.confidence && typeof d.confidence === 'object') line.push('confidence ' + num(d.confidence.value, 3) + ' (target ' + d.confidence.target + ')');
    if (m) line.push('MACs ' + num(m.used) + (m.full ? ' of ' + num(m.full) + ' (' + (100 * m.used / m.full).toFixed(0) + '%)' : ''));
    if (line.length) add(wrap, el('p', 'meta', line.join('; ')));
    var tb = el('table');
    var hr = el('tr');
    ['Model', 'Input', 'Score', 'Confidence', 'MACs', 'ms', 'Cache'].forEach(function (h, i) {
      var th = el('th', i > 1 && i < 6 ? 'n' : '', h);
      th.scope = 'col';
      hr.appendChild(th);
    });
    add(tb, add(el('thead'), hr));
    var body = el('tbody');
    d.stages.forEach(function (s) {
      var inp = Array.isArray(s.input) ? s.input.join('x') : '';
      add(body, add(el('tr'), el('td', '', s.model), el('td', '', inp), el('td', 'n', num(s.score, 3)), el('td', 'n', num(s.confidence, 3)),
        el('td', 'n', num(s.macs)), el('td', 'n', ms(s.ms)), el('td', '', s.cache || '')));
    });
    return add(wrap, add(tb, body));
  }

  function render(d, ep, md, rtt, name) {
    var out = $('result');
    out.textContent = '';
    var summary = '';
    if (ep === 'detect' && d.person) {
      var yes = !!d.person.detected;
      var b = el('p', 'badge ' + (yes ? 'yes' : 'no'), yes ? 'Person detected' : 'No person');
      b.id = 'person-badge';
      add(out, b, el('p', 'meta', 'Person score ' + Number(d.person.score).toFixed(3) + ' (threshold ' + d.person.threshold + ')'));
      summary = (yes ? 'person ' : 'no person ') + Number(d.person.score).toFixed(2);
    } else if (Array.isArray(d.predictions)) {
      var ol = el('ol', 'preds');
      ol.id = 'predictions';
      ol.setAttribute('aria-label', 'Top classes');
      d.predictions.forEach(function (p) {
        var li = el('li');
        var top = add(el('div', 'pl'), el('span', 'label', p.label), el('span', '', pct(p.score)));
        var fill = el('div', 'fill');
        fill.style.width = pct(p.score);
        var track = add(el('div', 'track'), fill);
        track.setAttribute('aria-hidden', 'true');
        ol.appendChild(add(li, top, track));
      });
      add(out, ol);
      var p0 = d.predictions[0];
      summary = p0 ? p0.label + ' ' + Number(p0.score).toFixed(2) : 'no predictions';
    }
    var info = [];
    if (d.model) info.push('model ' + d.model.id + ' v' + d.model.version + ' (' + d.model.precision + ')');
    if (d.image) info.push('image ' + d.image.format + ' ' + d.image.width + 'x' + d.image.height);
    if (info.length) add(out, el('p', 'meta', info.join(', ')));
    if (d.timings_ms) add(out, timingBar(d.timings_ms, d.cache, rtt));
    if (Array.isArray(d.stages)) add(out, stagesTable(d));
    record({ name: name, ep: ep + (md === 'adaptive' ? ' (adaptive)' : ''), model: d.model ? d.model.id : '', summary: summary,
      server: d.timings_ms ? d.timings_ms.total : null, rtt: rtt, cache: d.cache || '' });
  }

  function record(r) {
    r.time = new Date().toTimeString().slice(0, 8);
    history.unshift(r);
    if (history.length > HISTORY_MAX) history.length = HISTORY_MAX;
    var tb = $('history').tBodies[0];
    tb.textContent = '';
    history.forEach(function (h) {
      add(tb, add(el('tr'), el('td', '', h.time), el('td', '', h.name), el('td', '', h.ep + (h.model ? ' / ' + h.model : '')),
        el('td', '', h.summary), el('td', 'n', ms(h.server)), el('td', 'n', ms(h.rtt)), el('td', '', h.cache)));
    });
  }

  function firstFile(list) {
    if (!list) return null;
    for (var i = 0; i < list.length; i++) { var f = list[i]; if (f && (f.kind === undefined || f.kind === 'file')) return f.getAsFile ? f.getAsFile() : f; }
    return null;
  }

  var drop = $('drop'), fileInput = $('file');
  drop.addEventListener('click', function () { fileInput.click(); });
  fileInput.addEventListener('change', function () {
    var f = fileInput.files && fileInput.files[0];
    if (f) setImage(f, f.name);
    fileInput.value = '';
  });
  ['dragenter', 'dragover'].forEach(function (t) {
    document.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add('over'); });
  });
  ['dragleave', 'dragend'].forEach(function (t) {
    document.addEventListener(t, function () { drop.classList.remove('over'); });
  });
  document.addEventListener('drop', function (e) {
    e.preventDefault();
    drop.classList.remove('over');
    var f = e.dataTransfer && firstFile(e.dataTransfer.files);
    if (f) setImage(f, f.name);
  });
  document.addEventListener('paste', function (e) {
    var cd = e.clipboardData;
    if (!cd) return;
    var f = firstFile(cd.files) || firstFile(cd.items);
    if (!f) return;
    e.preventDefault();
    setImage(f, f.name && f.name !== 'image.png' ? f.name : 'pasted-image' + (f.type === 'image/jpeg' ? '.jpg' : '.png'));
  });

  $('endpoint').addEventListener('change', function () { fillModels(); fillLadders(); updateRows(); });
  $('mode').addEventListener('change', updateRows);
  $('opts').addEventListener('submit', function (e) { e.preventDefault(); send(); });

  if (navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === 'function') {
    var video = $('video');
    $('cam').hidden = false;
    var camUi = function (on) { video.hidden = !on; $('snap').hidden = !on; $('cam-off').hidden = !on; $('cam-on').hidden = on; };
    var stop = function () { if (stream) stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; video.srcObject = null; camUi(false); };
    $('cam-on').addEventListener('click', function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }).then(function (s) {
        stream = s;
        video.srcObject = s;
        camUi(true);
        return video.play();
      }).then(function () { $('snap').focus(); }).catch(function (e) {
        stop();
        showError('Camera unavailable: ' + (e && e.message ? e.message : String(e)), e && e.name, 0);
      });
    });
    $('cam-off').addEventListener('click', function () { stop(); $('cam-on').focus(); });
    $('snap').addEventListener('click', function () {
      if (!video.videoWidth) return;
      var c = document.createElement('canvas');
      c.width = video.videoWidth;
      c.height = video.videoHeight;
      c.getContext('2d').drawImage(video, 0, 0);
      c.toBlob(function (b) { setImage(b, 'snapshot-' + new Date().toTimeString().slice(0, 8).replace(/:/g, '') + '.jpg'); }, 'image/jpeg', 0.92);
    });
  }

  updateRows();
  loadModels();
  loadLadders();
})();
`;

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgelens demo</title>
<link rel="icon" href="data:,">
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>edgelens</h1>
<p>Photo in, JSON out: a quantized model run by a WebAssembly engine inside a Cloudflare Worker.</p>
</header>
<main>
<section class="card" aria-labelledby="in-h">
<h2 id="in-h">Image</h2>
<button type="button" id="drop" class="drop" aria-describedby="drop-hint"><span class="big">Choose an image</span>
<span id="drop-hint" class="hint">or drop one here, or paste one anywhere (Ctrl+V). JPEG or PNG.</span></button>
<input type="file" id="file" accept="image/jpeg,image/png" hidden aria-label="Image file">
<div id="cam" hidden>
<button type="button" id="cam-on" class="sec">Use camera</button>
<video id="video" playsinline muted hidden aria-label="Camera preview"></video>
<button type="button" id="snap" hidden>Take snapshot</button>
<button type="button" id="cam-off" class="sec" hidden>Stop camera</button>
</div>
<figure id="preview-fig" hidden><img id="preview" alt=""><figcaption id="preview-cap"></figcaption></figure>
</section>
<section class="card" aria-labelledby="opt-h">
<h2 id="opt-h">Request</h2>
<form id="opts">
<div class="row"><label for="endpoint">Endpoint</label>
<select id="endpoint"><option value="classify">classify: top classes</option><option value="detect">detect: person or not</option></select></div>
<div class="row" data-for="full"><label for="model">Model</label><select id="model" aria-describedby="model-note"><option value="">(server default)</option></select>
<span id="model-note" class="hint">loading models...</span></div>
<div class="row"><label for="mode">Mode</label><select id="mode" aria-describedby="mode-note"><option value="full">full</option><option value="adaptive" disabled>adaptive</option></select>
<span id="mode-note" class="hint"></span></div>
<div class="row" data-for="classify"><label for="top">Top classes</label><input id="top" type="number" min="1" max="20" value="5"></div>
<div class="row" data-for="detect"><label for="threshold">Threshold</label><input id="threshold" type="number" min="0" max="1" step="0.05" value="0.5"></div>
<div class="row" data-for="adaptive"><label for="ladder">Ladder</label><select id="ladder"><option value="">(server default)</option></select></div>
<div class="row" data-for="adaptive"><label for="confidence">Confidence</label><input id="confidence" type="number" min="0" max="1" step="0.05" value="0.9"></div>
<div class="row"><button type="submit" id="send" disabled>Send</button><span class="hint">Choosing an image sends it; Send repeats it with the current options.</span></div>
</form>
</section>
<section class="card wide" aria-labelledby="res-h">
<h2 id="res-h">Result</h2>
<div id="result" aria-live="polite"><p class="hint">No request yet.</p></div>
</section>
<section class="card wide" aria-labelledby="hist-h">
<h2 id="hist-h">Last 10 requests</h2>
<table id="history"><thead><tr><th scope="col">Time</th><th scope="col">Image</th><th scope="col">Request</th><th scope="col">Result</th>
<th scope="col" class="n">Server ms</th><th scope="col" class="n">Round trip ms</th><th scope="col">Cache</th></tr></thead><tbody></tbody></table>
</section>
</main>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  let bin = '';
  for (const b of digest) bin += String.fromCharCode(b);
  return btoa(bin);
}

let cspPromise: Promise<string> | null = null;

/** The page's Content-Security-Policy: only its own inline style and script (by hash), same-origin fetches. */
export function pageCsp(): Promise<string> {
  cspPromise ??= (async () => [
    "default-src 'none'",
    `script-src 'sha256-${await sha256Base64(PAGE_SCRIPT)}'`,
    `style-src 'sha256-${await sha256Base64(PAGE_STYLE)}'`,
    "img-src 'self' blob: data:",
    "media-src 'self' blob: mediastream:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '))();
  return cspPromise;
}

/** Headers of GET /. */
export async function pageHeaders(): Promise<Record<string, string>> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': await pageCsp(),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Permissions-Policy': 'camera=(self), microphone=(), geolocation=()',
    'Cache-Control': 'no-cache',
  };
}
