/*
 * The playground (GET /playground): runs a contract through POST /execute with a fuel profile and shows
 * the answer, the trap backtrace and a flame graph of the fuel (d3-flame-graph, built from the
 * speedscope data). Plain browser JavaScript over the HTTP API (docs/API.md); nothing is fetched from
 * anywhere but this service. Text from the service (logs, names, messages) is only ever set as text.
 */
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'wasm-runner-token';
  const FORMATS = {
    json: { file: 'profile.json', type: 'application/json' },
    speedscope: { file: 'profile.speedscope.json', type: 'application/json' },
    collapsed: { file: 'profile.folded', type: 'text/plain' },
    pprof: { file: 'profile.pb', type: 'application/octet-stream' },
  };
  /** What to call the bundled examples with (examples/README.md). */
  const PRESETS = {
    'hello.wasm': { input: 'world' },
    'hello-lib.wasm': { input: 'hello' },
    'kv.wasm': { input: 'b=2\na=1\nc=3\n' },
    'kv-shared.wasm': { input: 'b=2\na=1\nc=3\n' },
    'kv-standalone.wasm': { input: 'b=2\na=1\nc=3\n' },
    'fib.wasm': { entrypoint: 'fib', args: '[20]' },
    'compute.wasm': { entrypoint: 'sort', args: '[100]' },
    'panic.wasm': { input: 'no' },
    'debug-trap.wasm': { entrypoint: 'run' },
  };

  let modules = []; // GET /modules, every page
  let names = {}; // hash → example file name (GET /playground/examples.json)
  let lastRequest = null; // the last request run, re-sent for the downloads
  let hasProfile = true; // false once the service refused the `profile` field

  const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
  const short = (hash) => `${hash.slice(0, 8)}…${hash.slice(-4)}`;
  const labelOf = (m) => `${names[m.hash] ?? short(m.hash)} · ${fmt(m.bytes)} B`;
  const byHash = (hash) => modules.find((m) => m.hash === hash);

  // --- the API ---------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, { json, bytes } = {}) {
    const headers = {};
    const token = $('token').value.trim();
    if (token) headers.authorization = `Bearer ${token}`;
    let body;
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (bytes !== undefined) {
      headers['content-type'] = 'application/wasm';
      body = bytes;
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body });
    } catch (e) {
      throw new ApiError(0, `the service did not answer ${method} ${path} (${e.message})`);
    }
    const text = await res.text();
    let data = null;
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON
    }
    if (res.ok) return data;
    const error = data && data.error;
    if (res.status === 401) {
      throw new ApiError(401, `401 unauthorized: this service needs a token. Enter it in the Token field at the top (it is sent as "Authorization: Bearer <token>")${token ? `: ${error ? error.message : 'refused'}` : '.'}`);
    }
    throw new ApiError(res.status, `${res.status} ${error ? error.kind : res.statusText}: ${error ? error.message : text.slice(0, 500)}`);
  }

  function setStatus(text, isError = false) {
    const s = $('status');
    s.textContent = text;
    s.classList.toggle('error', isError);
    if (isError && /^401/.test(text)) $('token').focus();
  }

  const fail = (e) => setStatus(e instanceof ApiError ? e.message : `error: ${e.message}`, true);

  // --- modules -----------------------------------------------------------------------------------

  async function loadModules(select = {}) {
    const list = [];
    let after = null;
    do {
      const page = await api('GET', `/modules?limit=1000${after ? `&after=${after}` : ''}`);
      list.push(...page.modules);
      after = page.next;
    } while (after && list.length < 20000);
    modules = list.sort((a, b) => (names[a.hash] ?? `~${a.hash}`).localeCompare(names[b.hash] ?? `~${b.hash}`));
    fillModuleSelects(select);
    setStatus(`${modules.length} modules on the service.`);
  }

  function option(value, text) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    return o;
  }

  /** Lists the modules again, keeping the selection (or taking `select`'s); kv is the first contract shown. */
  function fillModuleSelects(select) {
    const prev = { contract: $('contract').value, library: $('library').value };
    const want = { ...prev, ...select };
    // the Iroha profile's modules need `iroha` fields this page does not send
    const runnable = modules.filter((m) => m.profile !== 'iroha');
    $('contract').replaceChildren(...runnable.map((m) => option(m.hash, labelOf(m))));
    $('library').replaceChildren(option('', '(none)'), ...runnable.map((m) => option(m.hash, labelOf(m))));
    const kv = runnable.find((m) => names[m.hash] === 'kv.wasm');
    $('contract').value = byHash(want.contract) ? want.contract : kv ? kv.hash : runnable[0] ? runnable[0].hash : '';
    if ($('contract').value !== prev.contract) contractChanged();
    else $('library').value = byHash(want.library) ? want.library : '';
  }

  const nameToHash = (name) => (modules.find((m) => names[m.hash] === name) || {}).hash;

  /** Offers the contract's exported functions, and (for a bundled example) a library and the preset call. */
  function contractChanged() {
    const m = byHash($('contract').value);
    const funcs = m ? m.exports.filter((e) => e.kind === 'func') : [];
    $('entrypoint').replaceChildren(...funcs.map((f) => option(f.name, `${f.name}${f.type ? ` ${f.type}` : ''}`)));
    if (!m) return;
    const needsLib = m.importModules.some((i) => i !== 'host');
    const shared = m.importModules.includes('env'); // a contract importing its memory links in shared mode
    $('link-mode').value = shared ? 'shared' : 'bridge';
    const lib = needsLib ? nameToHash(shared ? 'library-shared.wasm' : 'library.wasm') : undefined;
    $('library').value = lib ?? (needsLib ? $('library').value : '');
    const preset = PRESETS[names[m.hash]] || {};
    const entry = preset.entrypoint ?? 'main';
    if (funcs.some((f) => f.name === entry)) $('entrypoint').value = entry;
    $('args').value = preset.args ?? '[]';
    $('input').value = preset.input ?? '';
  }

  async function upload(input, target) {
    const file = input.files && input.files[0];
    if (!file) return;
    try {
      setStatus(`uploading ${file.name}…`);
      const info = await api('PUT', '/modules', { bytes: await file.arrayBuffer() });
      names[info.hash] ??= file.name;
      await loadModules({ [target]: info.hash });
      setStatus(`${file.name} stored: ${info.hash}`);
    } catch (e) {
      fail(e);
    } finally {
      input.value = '';
    }
  }

  // --- running -----------------------------------------------------------------------------------

  function base64(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }

  const unbase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

  function buildRequest() {
    if (!$('contract').value) throw new Error('choose a contract (or upload one)');
    const req = { contract: { hash: $('contract').value } };
    if ($('library').value) req.library = { hash: $('library').value };
    if ($('library').value || $('link-mode').value !== 'bridge') req.link = { mode: $('link-mode').value };
    if ($('entrypoint').value) req.entrypoint = $('entrypoint').value;
    let args;
    try {
      args = JSON.parse($('args').value.trim() || '[]');
    } catch (e) {
      throw new Error(`Args is not JSON (${e.message}): write a JSON array, e.g. [40, 2] or ["18446744073709551615"]`);
    }
    if (!Array.isArray(args)) throw new Error('Args must be a JSON array, e.g. [40, 2]');
    if (args.length) req.args = args;
    if ($('input').value) req.input = base64(new TextEncoder().encode($('input').value));
    const fuel = $('fuel').value.trim();
    if (fuel) req.limits = { fuel: Number(fuel) };
    return req;
  }

  /** POST /execute with the profile in `format`; without it when the service does not know the field yet. */
  async function execute(req, format) {
    if (!hasProfile) return api('POST', '/execute', { json: req });
    try {
      return await api('POST', '/execute', { json: { ...req, profile: { format } } });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 400 && /profile/.test(e.message))) throw e;
      hasProfile = false;
      return api('POST', '/execute', { json: req });
    }
  }

  async function run(event) {
    event.preventDefault();
    $('run').disabled = true;
    try {
      const req = buildRequest();
      setStatus('running…');
      const answer = await execute(req, 'speedscope');
      lastRequest = req;
      show(answer);
      setStatus(`${answer.ok ? 'ran' : 'stopped'} in ${answer.timings.totalMs} ms${hasProfile ? '' : ' (this service has no fuel profile yet: no flame graph)'}.`);
    } catch (e) {
      fail(e);
    } finally {
      $('run').disabled = false;
    }
  }

  // --- the answer --------------------------------------------------------------------------------

  function outputText(b64) {
    const bytes = unbase64(b64);
    if (bytes.length === 0) return '(empty)';
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return `${JSON.stringify(text)} (${fmt(bytes.length)} bytes)`;
    } catch {
      // not UTF-8
    }
    const hex = Array.from(bytes.subarray(0, 4096), (b) => b.toString(16).padStart(2, '0')).join('');
    return `${fmt(bytes.length)} bytes, hex: ${hex}${bytes.length > 4096 ? '…' : ''}`;
  }

  const frameLine = (f, i) =>
    `#${i} ${f.name ?? `func[${f.index}]`}${f.file ? ` at ${f.file}${f.line != null ? `:${f.line}` : ''}${f.column != null ? `:${f.column}` : ''}` : ''} (${f.module}[${f.index}] @0x${f.offset.toString(16)})`;

  function show(a) {
    $('result').hidden = false;
    $('outcome').textContent = a.ok ? 'ok' : a.error.kind;
    $('outcome').classList.toggle('ok', a.ok);
    $('message').textContent = a.error ? a.error.message : '—';
    $('values').textContent = a.result ? JSON.stringify(a.result.values) : '—';
    $('output').textContent = a.result ? outputText(a.result.output) : '—';
    $('fuel-consumed').textContent = fmt(a.fuel.consumed);
    $('fuel-consumed').dataset.value = String(a.fuel.consumed);
    $('fuel-limit').textContent = fmt(a.fuel.limit);
    const mods = Object.entries(a.memory.modules).map(([k, v]) => `${k} ${fmt(v.peakBytes)}`).join(', ');
    $('memory').textContent = `peak ${fmt(a.memory.peakBytes)} bytes of ${fmt(a.memory.limitBytes)} (${mods})`;
    $('link').textContent = `${a.link.mode}${a.link.stacks ? `, stacks ${a.link.stacks}` : ''}: ${fmt(a.link.calls)} bridged calls, ${fmt(a.link.bytesCopied)} bytes copied`;
    $('logs').textContent = a.logs.length ? a.logs.map((l) => `[${l.level}] ${l.message}`).join('\n') : '(none)';
    const frames = (a.error && a.error.frames) || [];
    $('backtrace-box').hidden = frames.length === 0;
    $('backtrace').textContent = frames.map(frameLine).join('\n') + (a.error && a.error.framesOmitted ? `\n… ${fmt(a.error.framesOmitted)} more frames` : '');
    showProfile(a.profile);
  }

  function rows(table, list, cells) {
    if (list.length === 0) {
      const td = document.createElement('td');
      td.colSpan = $(table).querySelectorAll('th').length;
      td.textContent = '(none)';
      $(table).querySelector('tbody').replaceChildren(td);
      return;
    }
    $(table).querySelector('tbody').replaceChildren(
      ...list.map((item) => {
        const tr = document.createElement('tr');
        for (const [text, num] of cells(item)) {
          const td = document.createElement('td');
          td.textContent = text;
          if (num) td.className = 'num';
          tr.append(td);
        }
        return tr;
      }),
    );
  }

  function showProfile(p) {
    $('profile-box').hidden = !p;
    if (!p) return;
    $('profile-total').textContent = `${fmt(p.total)} ${p.unit}`;
    const pct = (n) => (p.total ? `${((100 * n) / p.total).toFixed(1)}%` : '—');
    rows('functions', p.functions, (f) => [[f.name ?? (f.index == null ? '(other)' : `func[${f.index}]`)], [f.module == null ? '' : `${f.module}[${f.index}]`], [fmt(f.self), true], [pct(f.self), true], [fmt(f.total), true], [fmt(f.calls), true]]);
    rows('host', p.host, (h) => [[h.import], [h.module == null ? '' : `${h.name ?? ''} (${h.module})`], [fmt(h.calls), true], [fmt(h.fuel), true]]);
    drawFlameGraph(p.format === 'speedscope' ? flameTree(p.data, p.total) : null, p.total);
  }

  /**
   * The speedscope file's sampled stacks (root first, weights in fuel) merged into {name, value, children},
   * with `module`: a frame's `file` (contract, library), or none for the host's imports (`name [host.log]`).
   */
  function flameTree(file, total) {
    const frames = file.shared.frames;
    const root = { name: 'all', value: 0, children: [], kids: new Map() };
    for (const prof of file.profiles) {
      if (prof.type !== 'sampled') continue;
      prof.samples.forEach((stack, i) => {
        const w = prof.weights[i];
        root.value += w;
        let node = root;
        for (const f of stack) {
          let child = node.kids.get(f);
          if (!child) {
            const frame = frames[f] || { name: `frame ${f}` };
            child = { name: frame.name, module: frame.file, value: 0, children: [], kids: new Map() };
            node.kids.set(f, child);
            node.children.push(child);
          }
          child.value += w;
          node = child;
        }
      });
    }
    root.name = `all (${fmt(root.value || total)} fuel)`;
    return root;
  }

  /** Flame colours: the contract's frames warm, the library's blue, the host's green. */
  const HUES = { contract: 25, library: 205 };

  function drawFlameGraph(tree, total) {
    const el = $('flamegraph');
    el.replaceChildren();
    if (!tree) return;
    if (!window.d3 || !window.flamegraph) {
      el.textContent = 'the flame graph scripts did not load';
      return;
    }
    const chart = window.flamegraph
      .default()
      .width(Math.max(300, el.clientWidth - 2))
      .cellHeight(20)
      .transitionDuration(250)
      .minFrameSize(1)
      .sort(true)
      .setDetailsElement($('flame-details'))
      .setLabelHandler((d) => `${d.data.name}: ${fmt(d.value)} fuel, ${total ? ((100 * d.value) / total).toFixed(2) : 0}%`)
      .setColorMapper((d) => {
        if (d.depth === 0) return '#c9ced8';
        const hue = HUES[d.data.module] ?? 120; // host imports and the rest: green
        let h = 0;
        for (const c of d.data.name) h = (h * 31 + c.charCodeAt(0)) % 997;
        return `hsl(${hue + (h % 30) - 15}, ${55 + (h % 20)}%, ${62 + (h % 14)}%)`;
      });
    window.d3.select(el).datum(tree).call(chart);
  }

  // --- downloads ---------------------------------------------------------------------------------

  async function download(format) {
    if (!lastRequest) return;
    try {
      setStatus(`running again for ${FORMATS[format].file}…`);
      const { profile } = await execute(lastRequest, format);
      if (!profile) throw new Error('the answer has no profile');
      let body;
      if (format === 'json') body = JSON.stringify(profile, null, 2);
      else if (format === 'speedscope') body = JSON.stringify(profile.data);
      else if (format === 'collapsed') body = profile.data;
      else body = unbase64(profile.data);
      const url = URL.createObjectURL(new Blob([body], { type: FORMATS[format].type }));
      const a = document.createElement('a');
      a.href = url;
      a.download = FORMATS[format].file;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setStatus(`saved ${FORMATS[format].file}.`);
    } catch (e) {
      fail(e);
    }
  }

  // --- start -------------------------------------------------------------------------------------

  async function start() {
    $('token').value = sessionStorage.getItem(TOKEN_KEY) ?? '';
    $('token').addEventListener('change', () => {
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      loadModules().catch(fail);
    });
    $('contract').addEventListener('change', contractChanged);
    $('contract-file').addEventListener('change', () => upload($('contract-file'), 'contract'));
    $('library-file').addEventListener('change', () => upload($('library-file'), 'library'));
    $('run-form').addEventListener('submit', run);
    for (const b of document.querySelectorAll('.downloads button')) b.addEventListener('click', () => download(b.dataset.format));
    names = await fetch('/playground/examples.json').then((r) => (r.ok ? r.json() : {}), () => ({}));
    await loadModules().catch(fail);
  }

  start();
})();
