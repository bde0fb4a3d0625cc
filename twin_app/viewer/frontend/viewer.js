// twin 3D viewer: a Streamlit component (postMessage protocol of components v1) drawing a building
// model with vtk.js. Python sends the merged geometry (bytes), per-element RGBA colours (bytes) and the
// element GlobalIds; a click sends back the GlobalId under the cursor.
//
// Recolouring (a 4D date, a filter, a highlight) must not rebuild the geometry: on a CPU rasteriser
// (SwiftShader, no GPU) re-uploading half a million triangles costs seconds. So the geometry is
// uploaded once, each vertex carrying the texel of its element, and the colours live in a small RGBA
// texture (one texel per element) that is the only thing sent to WebGL when they change. Three actors
// draw the same triangles: the opaque one keeps elements whose alpha is 255, the translucent ones the
// others whose alpha is above 0 (lit from half opacity up, unlit ghosts below); the vertex shader collapses the triangles an actor must not
// draw to a point outside the view, so the rasteriser never sees them. Translucent elements are blended
// in one plain pass after the opaque ones (no order-independent translucency: it draws the opaque
// geometry a second time and adds two float render targets). Back faces are culled: Python orients
// every closed element mesh outwards and doubles open ones (twin.viz.scene.orient_for_culling). The
// canvas has no multisampling (3.5x dearer draws on SwiftShader), each message draws once, and the
// model is cut into height bands whose idle actors (no solid, or no see-through element) are skipped.
// Picking casts a ray in JavaScript against the elements drawn, opaque ones first.
//
// window.twinViewer exposes the state and the timings of the last message (performance.now() ms):
// received, geometry (built), colours (uploaded to the texture table), rendered (render() returned).
(function () {
  "use strict";
  const view = document.getElementById("view");
  const statusBox = document.getElementById("status");
  const S = { geometryKey: null, cameraKey: null, api: null, size: null, renderer: null, renderWindow: null,
              bounds: null, band: null, points: null, triangles: null, vertexElement: null, ids: [], rgba: null,
              texture: null, textureData: null, textureImage: null, parts: null, boxes: null,
              elementTriangles: null, elementStart: null, picked: null, clicks: 0, height: 0 };
  const T = { renders: 0, last: null };
  const TEX_WIDTH = 512;
  const BAND_TRIANGLES = 40000, MAX_BANDS = 24;

  function send(type, data) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data || {}), "*");
  }

  // Copy bytes into a fresh, aligned typed array (the bytes may sit at any offset of a buffer).
  function typed(bytes, Type) {
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return new Type(copy.buffer);
  }

  function hexToRgb(hex) {
    const h = (hex || "#ffffff").replace("#", "");
    return [0, 2, 4].map((i) => parseInt(h.substr(i, 2), 16) / 255);
  }

  // The translucent pass of vtk.js's forward pass, without order-independent translucency: translucent
  // actors are drawn once, blended over the opaque picture, depth test on and depth writes off.
  function plainForwardPass() {
    const translucentPass = {
      traverse: (windowNode, rendererNode, forwardPass) => {
        forwardPass.setCurrentOperation("translucentPass");
        rendererNode.traverse(forwardPass);
      },
      releaseGraphicsResources: () => {},
    };
    const pass = {};
    vtk.Rendering.OpenGL.vtkForwardPass.extend(pass, {}, { translucentPass: translucentPass });
    pass.getShaderReplacement = () => null;      // mappers ask the pass drawing them for one
    return pass;
  }

  function ensureWindow(background) {
    if (S.api) return;
    S.renderWindow = vtk.Rendering.Core.vtkRenderWindow.newInstance();
    S.renderer = vtk.Rendering.Core.vtkRenderer.newInstance({ background: hexToRgb(background) });
    S.renderWindow.addRenderer(S.renderer);
    // Our canvas with its WebGL context made before vtk.js asks for one (it then gets this one):
    // without multisampling, which on a CPU rasteriser multiplies the cost of depth tests and blends.
    const canvas = document.createElement("canvas");
    canvas.style.width = "100%";
    canvas.getContext("webgl2", { antialias: false, preserveDrawingBuffer: false, depth: true, alpha: true,
                                  powerPreference: "high-performance" });
    S.api = S.renderWindow.newAPISpecificView("WebGL", { canvas: canvas });
    S.renderWindow.addView(S.api);
    S.api.setRenderPasses([plainForwardPass()]);
    const interactor = vtk.Rendering.Core.vtkRenderWindowInteractor.newInstance();
    interactor.setInteractorStyle(vtk.Interaction.Style.vtkInteractorStyleTrackballCamera.newInstance());
    interactor.setView(S.api);
    interactor.initialize();
    S.api.setContainer(view);
    interactor.bindEvents(view);
    let down = null;
    interactor.onLeftButtonPress((call) => { down = [call.position.x, call.position.y]; });
    interactor.onLeftButtonRelease((call) => {
      if (!down) return;
      const moved = Math.abs(call.position.x - down[0]) + Math.abs(call.position.y - down[1]);
      down = null;
      if (moved > 3 || !S.points) return;
      const hit = pick(call.position.x, call.position.y);
      S.clicks += 1;
      S.picked = hit >= 0 ? S.ids[hit] || null : null;
      report();
    });
  }

  // Size the canvas to its container (without drawing: vtk.js's generic window drew on every resize,
  // and it was resized on every message, so every date was drawn twice).
  function fit() {
    const r = view.getBoundingClientRect(), k = window.devicePixelRatio || 1;
    const w = Math.floor(r.width * k), h = Math.floor(r.height * k);
    if (S.size && S.size[0] === w && S.size[1] === h) return false;
    S.size = [w, h];
    S.api.setSize(w, h);
    return true;
  }

  // Tell Python what the browser holds (the geometry key) and the last click.
  function report() {
    send("streamlit:setComponentValue", {
      value: { loaded: S.geometryKey, picked: S.picked || null, clicks: S.clicks }, dataType: "json" });
  }

  // Vertex shader: look up the element's colour and move the vertex out of the view when this actor
  // does not draw the element (all three vertices of a triangle belong to one element, so the
  // triangle collapses to a point outside the clip volume and is never rasterised).
  function keepOnly(mapper, condition) {
    const props = mapper.getViewSpecificProperties();
    props.OpenGL = { ShaderReplacements: [
      { shaderType: "Vertex", originalValue: "//VTK::TCoord::Dec", replaceFirst: true, replaceAll: false,
        replacementValue: "//VTK::TCoord::Dec\nuniform sampler2D texture1;" },
      { shaderType: "Vertex", originalValue: "//VTK::Picking::Impl", replaceFirst: true, replaceAll: false,
        replacementValue: "//VTK::Picking::Impl\n  float twinAlpha = texture2D(texture1, tcoordMC).a;\n" +
          "  if (!(" + condition + ")) { gl_Position = vec4(2.0, 2.0, 2.0, 1.0); }" },
    ] };
  }

  // What each actor of a band draws (alpha in 0..255), as the rendered frames of twin.viz.scene do:
  // opaque elements; see-through ones at half opacity or more, lit; fainter ghosts, unlit (shading
  // adds nothing to a ghost, and unlit fragments are cheaper on a CPU rasteriser).
  const KINDS = [
    { test: (a) => a === 255, glsl: "twinAlpha > 0.999", opaque: true, lit: true, eager: true },
    { test: (a) => a >= 128 && a < 255, glsl: "twinAlpha >= 0.5 && twinAlpha <= 0.999", opaque: false, lit: true, eager: false },
    { test: (a) => a > 0 && a < 128, glsl: "twinAlpha > 0.001 && twinAlpha < 0.5", opaque: false, lit: false, eager: true },
  ];

  function makeActor(polydata, kind) {
    const mapper = vtk.Rendering.Core.vtkMapper.newInstance({ scalarVisibility: false });
    mapper.setInputData(polydata);
    keepOnly(mapper, kind.glsl);
    const actor = vtk.Rendering.Core.vtkActor.newInstance();
    actor.setMapper(mapper);
    actor.addTexture(S.texture);
    const prop = actor.getProperty();
    prop.setInterpolationToFlat();
    prop.setColor(1, 1, 1);
    prop.setAmbient(0.35);
    prop.setDiffuse(0.75);
    prop.setLighting(kind.lit);
    prop.setBackfaceCulling(true);
    if (kind.opaque) actor.setForceOpaque(true); else actor.setForceTranslucent(true);
    S.renderer.addActor(actor);
    return { actor: actor, mapper: mapper };
  }

  function setGeometry(args) {
    const points = typed(args.points, Float32Array);
    const triangles = typed(args.triangles, Uint32Array);
    const ve = typed(args.vertex_element, Uint32Array);
    const nElements = args.ids.length, nPoints = points.length / 3, nTri = triangles.length / 3;
    S.points = points; S.triangles = triangles; S.vertexElement = ve;
    if (S.parts) S.parts.forEach((p) => p.forEach((a) => S.renderer.removeActor(a.actor)));
    // the colour table: one texel per element, TEX_WIDTH texels a row
    let w = Math.max(1, Math.min(TEX_WIDTH, nElements));
    while (Math.ceil(nElements / w) > 4096 && w < 4096) w *= 2;     // WebGL2 guarantees 2048, SwiftShader 8192
    const h = Math.max(1, Math.ceil(nElements / w));
    S.textureData = new Uint8Array(4 * w * h);
    const scalars = vtk.Common.Core.vtkDataArray.newInstance({ name: "colours", numberOfComponents: 4, values: S.textureData });
    S.textureImage = vtk.Common.DataModel.vtkImageData.newInstance();
    S.textureImage.setDimensions(w, h, 1);
    S.textureImage.getPointData().setScalars(scalars);
    S.texture = vtk.Rendering.Core.vtkTexture.newInstance({ interpolate: false, mipmap: false, repeat: false, edgeClamp: true, resizable: true });
    S.texture.setInputData(S.textureImage);
    const tc = new Float32Array(2 * nPoints);
    for (let v = 0; v < nPoints; v++) {
      const e = ve[v];
      tc[2 * v] = ((e % w) + 0.5) / w;
      tc[2 * v + 1] = (Math.floor(e / w) + 0.5) / h;
    }
    indexForPicking(nElements);
    // Height bands (elements by the bottom of their box, about equal triangle counts): a band whose
    // elements are all solid (or all ghosts, or hidden) on a date leaves the other actor of the band
    // out of the draw, so most vertices go through one vertex shader, not two.
    const per = (window.twinViewerOptions || {}).bandTriangles || BAND_TRIANGLES;    // (tests set it small)
    const bands = Math.max(1, Math.min(MAX_BANDS, Math.ceil(nTri / per)));
    const order = Array.from({ length: nElements }, (_, e) => e);
    order.sort((a, b) => S.boxes[6 * a + 2] - S.boxes[6 * b + 2]);
    S.band = new Uint16Array(nElements);
    let done = 0;
    for (const e of order) {
      const n = S.elementStart[e + 1] - S.elementStart[e];
      S.band[e] = Math.min(bands - 1, Math.floor((done + n / 2) * bands / Math.max(nTri, 1)));
      done += n;
    }
    const sizes = new Uint32Array(bands);
    for (let e = 0; e < nElements; e++) sizes[S.band[e]] += S.elementStart[e + 1] - S.elementStart[e];
    // each band gets its own compact points (vtk.js walks a polydata's whole point array per actor)
    S.parts = [];
    const stamp = new Int32Array(nPoints).fill(-1), local = new Uint32Array(nPoints);
    const members = Array.from({ length: bands }, () => []);
    for (let e = 0; e < nElements; e++) members[S.band[e]].push(e);
    for (let k = 0; k < bands; k++) {
      let m = 0;                                  // the band's distinct points, to size its arrays
      for (const e of members[k]) {
        for (let i = S.elementStart[e]; i < S.elementStart[e + 1]; i++) {
          for (let c = 0; c < 3; c++) {
            const v = triangles[3 * S.elementTriangles[i] + c];
            if (stamp[v] !== k) { stamp[v] = k; local[v] = m++; }
          }
        }
      }
      const cells = new Uint32Array(4 * sizes[k]);
      const bandPoints = new Float32Array(3 * m), bandTc = new Float32Array(2 * m);
      let j = 0;
      for (const e of members[k]) {
        for (let i = S.elementStart[e]; i < S.elementStart[e + 1]; i++) {
          const t = S.elementTriangles[i];
          cells[j] = 3;
          for (let c = 0; c < 3; c++) {
            const v = triangles[3 * t + c], l = local[v];
            cells[j + 1 + c] = l;
            bandPoints[3 * l] = points[3 * v]; bandPoints[3 * l + 1] = points[3 * v + 1]; bandPoints[3 * l + 2] = points[3 * v + 2];
            bandTc[2 * l] = tc[2 * v]; bandTc[2 * l + 1] = tc[2 * v + 1];
          }
          j += 4;
        }
      }
      const polydata = vtk.Common.DataModel.vtkPolyData.newInstance();
      polydata.getPoints().setData(bandPoints, 3);
      polydata.getPolys().setData(cells);
      polydata.getPointData().setTCoords(vtk.Common.Core.vtkDataArray.newInstance({
        name: "element", numberOfComponents: 2, values: bandTc }));
      S.parts.push(KINDS.map((kind) => makeActor(polydata, kind)));
    }
  }

  // Per element: its triangles (CSR) and its bounding box, to pick by casting a ray in JavaScript.
  function indexForPicking(nElements) {
    const tri = S.triangles, ve = S.vertexElement, p = S.points, nTri = tri.length / 3;
    const start = new Uint32Array(nElements + 1);
    for (let t = 0; t < nTri; t++) start[ve[tri[3 * t]] + 1]++;
    for (let e = 0; e < nElements; e++) start[e + 1] += start[e];
    const fill = start.slice(0, nElements), list = new Uint32Array(nTri);
    const boxes = new Float32Array(6 * nElements);
    for (let e = 0; e < nElements; e++) { boxes.fill(Infinity, 6 * e, 6 * e + 3); boxes.fill(-Infinity, 6 * e + 3, 6 * e + 6); }
    for (let t = 0; t < nTri; t++) {
      const e = ve[tri[3 * t]];
      list[fill[e]++] = t;
      for (let k = 0; k < 3; k++) {
        const v = 3 * tri[3 * t + k];
        for (let a = 0; a < 3; a++) {
          if (p[v + a] < boxes[6 * e + a]) boxes[6 * e + a] = p[v + a];
          if (p[v + a] > boxes[6 * e + 3 + a]) boxes[6 * e + 3 + a] = p[v + a];
        }
      }
    }
    S.elementStart = start; S.elementTriangles = list; S.boxes = boxes;
    const b = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
    for (let e = 0; e < nElements; e++) {
      for (let a = 0; a < 3; a++) {
        b[2 * a] = Math.min(b[2 * a], boxes[6 * e + a]);
        b[2 * a + 1] = Math.max(b[2 * a + 1], boxes[6 * e + 3 + a]);
      }
    }
    S.bounds = nElements ? b : [0, 1, 0, 1, 0, 1];
  }

  // The element under display position (x, y), or -1: the nearest opaque element on the ray, else
  // the nearest see-through one (so a click on a solid element seen through ghosts, e.g. a clash
  // among ghosted elements, selects it). The ray goes from the near to the far clipping plane and is
  // tested against the elements' boxes, then their triangles (Moller-Trumbore); hidden ones are skipped.
  function pick(x, y) {
    if (!S.rgba || !S.elementStart) return -1;
    const o = S.api.displayToWorld(x, y, 0, S.renderer), f = S.api.displayToWorld(x, y, 1, S.renderer);
    const d = [f[0] - o[0], f[1] - o[1], f[2] - o[2]];
    const solid = nearest(o, d, (a) => a === 255);
    return solid >= 0 ? solid : nearest(o, d, (a) => a > 0 && a < 255);
  }

  function nearest(o, d, drawn) {
    const inv = d.map((c) => 1 / c);
    const p = S.points, tri = S.triangles, boxes = S.boxes, rgba = S.rgba;
    let best = Infinity, bestElement = -1;
    const n = Math.min(S.elementStart.length - 1, rgba.length / 4);
    for (let e = 0; e < n; e++) {
      if (!drawn(rgba[4 * e + 3])) continue;
      let t0 = 0, t1 = best;
      for (let a = 0; a < 3 && t0 <= t1; a++) {
        let u = (boxes[6 * e + a] - o[a]) * inv[a], v = (boxes[6 * e + 3 + a] - o[a]) * inv[a];
        if (u > v) { const s = u; u = v; v = s; }
        if (u > t0) t0 = u;
        if (v < t1) t1 = v;
      }
      if (t0 > t1) continue;
      for (let k = S.elementStart[e]; k < S.elementStart[e + 1]; k++) {
        const t = S.elementTriangles[k];
        const i0 = 3 * tri[3 * t], i1 = 3 * tri[3 * t + 1], i2 = 3 * tri[3 * t + 2];
        const e1 = [p[i1] - p[i0], p[i1 + 1] - p[i0 + 1], p[i1 + 2] - p[i0 + 2]];
        const e2 = [p[i2] - p[i0], p[i2 + 1] - p[i0 + 1], p[i2 + 2] - p[i0 + 2]];
        const q = [d[1] * e2[2] - d[2] * e2[1], d[2] * e2[0] - d[0] * e2[2], d[0] * e2[1] - d[1] * e2[0]];
        const det = e1[0] * q[0] + e1[1] * q[1] + e1[2] * q[2];
        if (Math.abs(det) < 1e-12) continue;
        const s = [o[0] - p[i0], o[1] - p[i0 + 1], o[2] - p[i0 + 2]];
        const u = (s[0] * q[0] + s[1] * q[1] + s[2] * q[2]) / det;
        if (u < 0 || u > 1) continue;
        const r = [s[1] * e1[2] - s[2] * e1[1], s[2] * e1[0] - s[0] * e1[2], s[0] * e1[1] - s[1] * e1[0]];
        const v = (d[0] * r[0] + d[1] * r[1] + d[2] * r[2]) / det;
        if (v < 0 || u + v > 1) continue;
        const tt = (e2[0] * r[0] + e2[1] * r[1] + e2[2] * r[2]) / det;
        if (tt >= 0 && tt < best) { best = tt; bestElement = e; }
      }
    }
    return bestElement;
  }

  function setCamera(args) {
    const b = S.bounds;
    const c = [(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2];
    const d = Math.max(b[1] - b[0], b[3] - b[2], b[5] - b[4]) || 1;
    const cam = S.renderer.getActiveCamera();
    cam.setFocalPoint(c[0], c[1], c[2]);
    cam.setPosition(c[0] + d, c[1] - d, c[2] + 0.8 * d);   // from the south-east, looking down
    cam.setViewUp(0, 0, 1);
    S.renderer.resetCamera();
    if (args.focus && args.focus.length === 6) {
      const f = args.focus;
      S.renderer.resetCamera(f);
      cam.zoom(0.6);
    }
    S.renderer.resetCameraClippingRange();
  }

  // The colours go into the texture table; the geometry's buffers stay as they are.
  function setColours(rgba, all) {
    S.rgba = rgba;
    S.textureData.fill(0);
    S.textureData.set(rgba.subarray(0, Math.min(rgba.length, S.textureData.length)));
    const used = KINDS.map(() => new Uint8Array(S.parts.length));
    const n = Math.min(S.band.length, rgba.length / 4);
    for (let e = 0; e < n; e++) {
      const a = rgba[4 * e + 3];
      for (let i = 0; i < KINDS.length; i++) if (KINDS[i].test(a)) used[i][S.band[e]] = 1;
    }
    // (the first draw of a geometry draws the opaque and ghost actors of every band, so that their
    // buffers are built at once; the lit see-through ones, rare, are built when first needed)
    S.parts.forEach((p, k) => p.forEach((a, i) => a.actor.setVisibility((all && KINDS[i].eager) || used[i][k] === 1)));
    S.textureImage.getPointData().getScalars().modified();
    S.textureImage.modified();
    S.texture.modified();
  }

  function render(args) {
    const times = { received: performance.now() };
    const height = args.height || 480;
    if (height !== S.height) {
      view.style.height = height + "px";
      S.height = height;
      send("streamlit:setFrameHeight", { height: height });
    }
    ensureWindow(args.background);
    fit();
    if (args.geometry_key !== S.geometryKey) {
      if (!args.points) {            // Python thinks we hold it (a new iframe): ask for the geometry
        S.geometryKey = null;
        report();
        return;
      }
      S.ids = args.ids;
      setGeometry(args);
      S.geometryKey = args.geometry_key;
      S.cameraKey = null;
      report();
      times.geometry = performance.now();
    }
    setColours(new Uint8Array(args.colours), times.geometry !== undefined);
    times.colours = performance.now();
    const cameraKey = args.geometry_key + "|" + (args.camera_key || "");
    if (cameraKey !== S.cameraKey) {
      setCamera(args);
      S.cameraKey = cameraKey;
    }
    statusBox.textContent = args.status || "";
    statusBox.style.display = args.status ? "block" : "none";
    S.renderWindow.render();
    times.rendered = performance.now();
    T.renders += 1;
    T.last = times;
    document.body.setAttribute("data-rendered", String(Number(document.body.getAttribute("data-rendered") || 0) + 1));
  }

  window.twinViewer = { state: S, times: T, pick: pick, setColours: setColours };
  window.addEventListener("message", (event) => {
    const msg = event.data;
    if (!msg || msg.type !== "streamlit:render") return;
    try {
      render(msg.args);
    } catch (err) {
      statusBox.style.display = "block";
      statusBox.textContent = "3D viewer error: " + err;
      document.body.setAttribute("data-error", String(err));
    }
  });
  window.addEventListener("resize", () => { if (S.api && fit()) S.renderWindow.render(); });
  send("streamlit:componentReady", { apiVersion: 1 });
})();
