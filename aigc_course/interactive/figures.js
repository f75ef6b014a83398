/* Interactive figures of the aigc_course book: plain JavaScript, no libraries, no network.
 * aigc_course.interactive (Python) inlines this file into each figure's HTML output; the guard
 * below defines it once per page. A figure's data comes inline or from an asset file (a
 * classic <script> that stores a JSON string in window.AIGC_ASSETS, so it loads from file://
 * too); its length and FNV-1a hash are checked before use. Any failure shows a message in the
 * figure's place, above the static image, never a blank box. */
(function () {
  "use strict";
  var VERSION = 1;
  if (window.AIGC_INTERACTIVE && window.AIGC_INTERACTIVE.version >= VERSION) return;
  var TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function fnv1a(text) {
    var h = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }

  function bytes(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function floats(b64, n) {
    var u = bytes(b64);
    if (u.length !== 4 * n) throw new Error("expected " + n + " float32 values, got " + u.length + " bytes");
    return new Float32Array(u.buffer);
  }

  function el(tag, attrs, parent) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    if (parent) parent.appendChild(e);
    return e;
  }

  function fail(root, text) {
    var box = root.querySelector(".aigc-message");
    box.textContent = text;
    box.style.display = "block";
    var fallback = root.querySelector(".aigc-fallback");
    if (fallback) fallback.style.display = "";
    root.setAttribute("data-state", "failed");
  }

  /* Where the asset may be: beside the book's own _static files (the built book), the
   * relative path the cell computed, and Jupyter's /files/ view of that path. */
  function candidates(src) {
    var out = [], tag = document.querySelector('script[src*="_static/"]');
    if (tag) {
      var href = tag.src, i = href.lastIndexOf("_static/");
      out.push(href.slice(0, i) + "_static/interactive/" + src.split("/").pop());
    }
    out.push(new URL(src, document.baseURI).href);
    var m = location.pathname.match(/^(.*?)\/(?:lab\/tree|doc\/tree|notebooks|tree)\/(.*)$/);
    if (m) out.push(new URL(src, location.origin + m[1] + "/files/" + m[2]).href);
    return out.filter(function (u, k) { return out.indexOf(u) === k; });
  }

  function load(root, spec, done) {
    var store = (window.AIGC_ASSETS = window.AIGC_ASSETS || {});
    var key = spec.name + "@" + spec.hash;
    function use(text, where) {
      if (typeof text !== "string" || text.length !== spec.length || fnv1a(text) !== spec.hash) {
        fail(root, "Interactive figure '" + spec.name + "': its data file " + where +
          " is damaged (length or checksum differ from the page's). Re-run the cell that makes" +
          " it (and rebuild the book); the static image below shows the figure.");
        return;
      }
      var data;
      try { data = JSON.parse(text); } catch (err) {
        fail(root, "Interactive figure '" + spec.name + "': its data cannot be read (" + err.message + ").");
        return;
      }
      done(data);
    }
    if (spec.inline !== undefined) return use(spec.inline, "(inline)");
    if (store[key] !== undefined) return use(store[key], spec.src);
    var urls = candidates(spec.src), tried = [];
    (function next() {
      if (!urls.length) {
        fail(root, "Interactive figure '" + spec.name + "': its data file could not be loaded (tried " +
          tried.join(", ") + "). Re-run the cell that makes it (in Colab or outside the book, with" +
          " inline=True); the static image below shows the figure.");
        return;
      }
      var url = urls.shift(), s = document.createElement("script");
      tried.push(url);
      s.onload = function () {
        if (store[key] !== undefined) use(store[key], url);
        else if (store[spec.name] !== undefined) use(store[spec.name], url);
        else next();
      };
      s.onerror = next;
      s.src = url;
      document.head.appendChild(s);
    })();
  }

  /* ---- the fully connected decoder: x -> act(W x + b), layer after layer ---- */
  function Mlp(data) {
    this.layers = data.layers.map(function (L) {
      return { w: floats(L.w, L.rows * L.cols), b: floats(L.b, L.rows), rows: L.rows,
               cols: L.cols, act: L.act, slope: L.slope || 0 };
    });
    this.out = data.out;
  }
  Mlp.prototype.forward = function (z) {
    var x = Float64Array.from(z);
    this.layers.forEach(function (L) {
      var y = new Float64Array(L.rows), w = L.w, c = L.cols;
      for (var r = 0; r < L.rows; r++) {
        var s = L.b[r], o = r * c;
        for (var k = 0; k < c; k++) s += w[o + k] * x[k];
        if (L.act === "relu") s = s > 0 ? s : 0;
        else if (L.act === "leaky_relu") s = s > 0 ? s : L.slope * s;
        else if (L.act === "tanh") s = Math.tanh(s);
        else if (L.act === "sigmoid") s = 1 / (1 + Math.exp(-s));
        y[r] = s;
      }
      x = y;
    });
    if (this.out === "sigmoid") for (var i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-x[i]));
    return x;
  };

  function paintGray(canvas, pixels, h, w) {
    var small = document.createElement("canvas");
    small.width = w; small.height = h;
    var ctx = small.getContext("2d"), img = ctx.createImageData(w, h);
    for (var i = 0; i < h * w; i++) {
      var v = Math.round(255 * Math.min(1, Math.max(0, pixels[i])));
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    var big = canvas.getContext("2d");
    big.imageSmoothingEnabled = false;
    big.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  function latentExplorer(root, spec, data) {
    var body = root.querySelector(".aigc-body"), net = new Mlp(data);
    var size = 300, pad = 24, ext = data.extent, h = data.image[0], w = data.image[1];
    var plane = el("canvas", { width: size, height: size, class: "aigc-plane", tabindex: "0",
      "aria-label": "latent plane: click or drag to choose a code" }, body);
    var digit = el("canvas", { width: 7 * w, height: 7 * h, class: "aigc-image" }, body);
    var readout = el("div", { class: "aigc-readout" }, body);
    plane.style.cursor = "crosshair"; plane.style.touchAction = "none";
    plane.style.marginRight = "12px"; plane.style.verticalAlign = "top";
    digit.style.border = "1px solid #ccc"; digit.style.verticalAlign = "top";
    function toPx(a, b) {
      return [pad + (a - ext[0]) / (ext[1] - ext[0]) * (size - 2 * pad),
              size - pad - (b - ext[2]) / (ext[3] - ext[2]) * (size - 2 * pad)];
    }
    function fromPx(px, py) {
      return [ext[0] + (px - pad) / (size - 2 * pad) * (ext[1] - ext[0]),
              ext[2] + (size - pad - py) / (size - 2 * pad) * (ext[3] - ext[2])];
    }
    var bg = document.createElement("canvas");
    bg.width = bg.height = size;
    (function drawBackground() {
      var g = bg.getContext("2d"), codes = floats(data.codes, 2 * data.n_codes);
      var labels = data.labels ? bytes(data.labels) : null;
      g.fillStyle = "#fff"; g.fillRect(0, 0, size, size);
      g.strokeStyle = "#999"; g.strokeRect(pad, pad, size - 2 * pad, size - 2 * pad);
      g.globalAlpha = 0.6;
      for (var i = 0; i < data.n_codes; i++) {
        var p = toPx(codes[2 * i], codes[2 * i + 1]);
        g.fillStyle = labels ? TAB10[labels[i] % 10] : "#1f77b4";
        g.fillRect(p[0] - 1, p[1] - 1, 2.5, 2.5);
      }
      g.globalAlpha = 1; g.fillStyle = "#333"; g.font = "11px sans-serif";
      g.fillText(data.axis_names[0] + " \u2192", size / 2 - 12, size - 6);
      g.save(); g.translate(12, size / 2 + 12); g.rotate(-Math.PI / 2);
      g.fillText(data.axis_names[1] + " \u2192", 0, 0); g.restore();
      g.fillText(ext[0].toFixed(1), pad, size - 10);
      g.fillText(ext[1].toFixed(1), size - pad - 18, size - 10);
    })();
    var api = { z: null, pixels: null, ms: 0 };
    api.latent = function (a, b) {
      var z = data.base.slice();
      z[data.dims[0]] = a; z[data.dims[1]] = b;
      return z;
    };
    api.decode = function (z) { return Array.from(net.forward(z)); };
    api.set = function (a, b) {
      var z = api.latent(a, b), t0 = performance.now();
      var pixels = net.forward(z);
      api.ms = performance.now() - t0;
      api.z = z; api.pixels = Array.from(pixels);
      var g = plane.getContext("2d"), p = toPx(a, b);
      g.drawImage(bg, 0, 0);
      g.strokeStyle = "#000"; g.lineWidth = 2;
      g.beginPath(); g.arc(p[0], p[1], 6, 0, 2 * Math.PI); g.stroke();
      paintGray(digit, pixels, h, w);
      readout.textContent = data.axis_names[0] + " = " + a.toFixed(2) + ", " + data.axis_names[1] +
        " = " + b.toFixed(2) + " (decoded in your browser in " + api.ms.toFixed(1) + " ms)";
    };
    var dragging = false;
    function at(ev) {
      var r = plane.getBoundingClientRect();
      var q = fromPx((ev.clientX - r.left) * size / r.width, (ev.clientY - r.top) * size / r.height);
      api.set(q[0], q[1]);
    }
    plane.addEventListener("pointerdown", function (ev) {
      dragging = true;
      if (plane.setPointerCapture) try { plane.setPointerCapture(ev.pointerId); } catch (e) { /* synthetic */ }
      at(ev);
    });
    plane.addEventListener("pointermove", function (ev) { if (dragging) at(ev); });
    plane.addEventListener("pointerup", function () { dragging = false; });
    plane.addEventListener("keydown", function (ev) {
      var step = (ext[1] - ext[0]) / 50, a = api.z[data.dims[0]], b = api.z[data.dims[1]];
      var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (!moves[ev.key]) return;
      ev.preventDefault();
      api.set(a + moves[ev.key][0], b + moves[ev.key][1]);
    });
    api.set(data.start[0], data.start[1]);
    return api;
  }

  function framePlayer(root, spec, data) {
    var body = root.querySelector(".aigc-body"), n = data.frames.length;
    var canvas = el("canvas", { width: data.width * data.scale, height: data.height * data.scale,
      class: "aigc-frame" }, body);
    var controls = el("div", { class: "aigc-controls" }, body);
    var button = el("button", { type: "button", text: "\u25b6 play" }, controls);
    var slider = el("input", { type: "range", min: "0", max: String(n - 1), step: "1", value: "0",
      "aria-label": "frame" }, controls);
    var caption = el("div", { class: "aigc-readout" }, body);
    slider.style.width = Math.max(200, canvas.width - 80) + "px";
    slider.style.verticalAlign = "middle"; button.style.marginRight = "8px";
    var images = data.frames.map(function (b64) {
      var img = new Image();
      img.src = "data:image/png;base64," + b64;
      return img;
    });
    var api = { index: 0, playing: false, timer: null };
    api.show = function (i) {
      i = Math.max(0, Math.min(n - 1, i | 0));
      api.index = i; slider.value = String(i);
      caption.textContent = data.captions[i] + "  (" + (i + 1) + "/" + n + ")";
      var img = images[i], g = canvas.getContext("2d");
      function draw() {
        if (api.index !== i) return;
        g.imageSmoothingEnabled = false;
        g.clearRect(0, 0, canvas.width, canvas.height);
        g.drawImage(img, 0, 0, canvas.width, canvas.height);
      }
      if (img.complete && img.naturalWidth) draw(); else img.onload = draw;
    };
    api.play = function (on) {
      api.playing = on;
      button.textContent = on ? "\u275a\u275a pause" : "\u25b6 play";
      clearInterval(api.timer);
      if (on) api.timer = setInterval(function () {
        if (api.index >= n - 1 && !data.loop) return api.play(false);
        api.show((api.index + 1) % n);
      }, data.interval_ms);
    };
    button.addEventListener("click", function () {
      if (!api.playing && api.index >= n - 1) api.show(0);
      api.play(!api.playing);
    });
    slider.addEventListener("input", function () { api.play(false); api.show(Number(slider.value)); });
    api.show(0);
    return api;
  }

  var KINDS = { latent_explorer: latentExplorer, frame_player: framePlayer };

  function mount(id, spec) {
    var root = document.getElementById(id);
    if (!root) return;
    window.AIGC_FIGURES = window.AIGC_FIGURES || {};
    load(root, spec, function (data) {
      try {
        var api = KINDS[spec.kind](root, spec, data);
        var fallback = root.querySelector(".aigc-fallback");
        if (fallback) fallback.style.display = "none";
        root.setAttribute("data-state", "ready");
        window.AIGC_FIGURES[spec.name] = api;
      } catch (err) {
        fail(root, "Interactive figure '" + spec.name + "' could not start: " + err.message +
          ". The static image below shows the figure.");
      }
    });
  }

  window.AIGC_INTERACTIVE = { version: VERSION, mount: mount, fnv1a: fnv1a };
})();
