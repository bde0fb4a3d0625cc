// twin 3D viewer: a Streamlit component (postMessage protocol of components v1) drawing a building
// model with vtk.js. Python sends the merged geometry (bytes), per-element RGBA colours (bytes) and the
// element GlobalIds; a click sends back the GlobalId under the cursor.
(function () {
  "use strict";
  const view = document.getElementById("view");
  const statusBox = document.getElementById("status");
  const S = { geometryKey: null, cameraKey: null, grw: null, renderer: null, renderWindow: null,
              polydata: null, colours: null, vertexElement: null, triangles: null, parts: null, ids: [], picker: null,
              clicks: 0, height: 0 };

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

  function ensureWindow(background) {
    if (S.grw) return;
    S.grw = vtk.Rendering.Misc.vtkGenericRenderWindow.newInstance({ background: hexToRgb(background) });
    S.grw.setContainer(view);
    S.renderer = S.grw.getRenderer();
    S.renderWindow = S.grw.getRenderWindow();
    S.picker = vtk.Rendering.Core.vtkCellPicker.newInstance();
    S.picker.setPickFromList(false);
    S.picker.setTolerance(0);
    const interactor = S.grw.getInteractor();
    let down = null;
    interactor.onLeftButtonPress((call) => { down = [call.position.x, call.position.y]; });
    interactor.onLeftButtonRelease((call) => {
      if (!down) return;
      const moved = Math.abs(call.position.x - down[0]) + Math.abs(call.position.y - down[1]);
      down = null;
      if (moved > 3 || !S.polydata) return;
      S.picker.pick([call.position.x, call.position.y, 0], S.renderer);
      const cell = S.picker.getCellId();
      const hit = S.picker.getActors()[0];
      const part = S.parts.find((p) => p.actor === hit);
      let picked = null;
      if (cell >= 0 && part && 4 * cell + 1 < part.cells.length) {
        picked = S.ids[S.vertexElement[part.cells[4 * cell + 1]]] || null;
      }
      S.clicks += 1;
      S.picked = picked;
      report();
    });
  }

  // Tell Python what the browser holds (the geometry key) and the last click.
  function report() {
    send("streamlit:setComponentValue", {
      value: { loaded: S.geometryKey, picked: S.picked || null, clicks: S.clicks }, dataType: "json" });
  }

  function makeActor(points, colours, translucent) {
    const polydata = vtk.Common.DataModel.vtkPolyData.newInstance();
    polydata.getPoints().setData(points, 3);
    polydata.getPointData().setScalars(colours);
    const mapper = vtk.Rendering.Core.vtkMapper.newInstance({ interpolateScalarsBeforeMapping: false });
    mapper.setInputData(polydata);
    mapper.setColorModeToDirectScalars();
    mapper.setScalarModeToUsePointData();
    const actor = vtk.Rendering.Core.vtkActor.newInstance();
    actor.setMapper(mapper);
    actor.getProperty().setInterpolationToFlat();
    actor.getProperty().setAmbient(0.35);
    actor.getProperty().setDiffuse(0.75);
    if (translucent) actor.setForceTranslucent(true); else actor.setForceOpaque(true);
    S.renderer.addActor(actor);
    return { polydata: polydata, actor: actor, cells: new Uint32Array(0) };
  }

  // Two actors share the points and colours: opaque elements in one (drawn solid), elements with
  // some transparency (ghosts) in the other, so solid elements never blend with what is behind them.
  function setGeometry(args) {
    const points = typed(args.points, Float32Array);
    const triangles = typed(args.triangles, Uint32Array);
    S.vertexElement = typed(args.vertex_element, Uint32Array);
    S.triangles = triangles;
    if (S.parts) S.parts.forEach((p) => S.renderer.removeActor(p.actor));
    S.colours = vtk.Common.Core.vtkDataArray.newInstance({
      name: "colours", numberOfComponents: 4, values: new Uint8Array(4 * (points.length / 3)) });
    S.parts = [makeActor(points, S.colours, false), makeActor(points, S.colours, true)];
    S.polydata = S.parts[0].polydata;
  }

  function splitCells(rgba) {
    const tri = S.triangles, ve = S.vertexElement, nTri = tri.length / 3;
    let nSolid = 0;
    for (let t = 0; t < nTri; t++) if (rgba[4 * ve[tri[3 * t]] + 3] === 255) nSolid++;
    const solid = new Uint32Array(4 * nSolid), glass = new Uint32Array(4 * (nTri - nSolid));
    let i = 0, j = 0;
    for (let t = 0; t < nTri; t++) {
      const a = rgba[4 * ve[tri[3 * t]] + 3];
      if (a === 255) {
        solid[i] = 3; solid[i + 1] = tri[3 * t]; solid[i + 2] = tri[3 * t + 1]; solid[i + 3] = tri[3 * t + 2]; i += 4;
      } else if (a > 0) {
        glass[j] = 3; glass[j + 1] = tri[3 * t]; glass[j + 2] = tri[3 * t + 1]; glass[j + 3] = tri[3 * t + 2]; j += 4;
      }
    }
    [solid, glass.subarray(0, j)].forEach((cells, k) => {
      S.parts[k].cells = cells;
      S.parts[k].polydata.getPolys().setData(cells);
      S.parts[k].polydata.modified();
    });
  }

  function setCamera(args) {
    const b = S.polydata.getBounds();
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

  function setColours(rgba) {
    const values = S.colours.getData();
    const ve = S.vertexElement;
    for (let v = 0; v < ve.length; v++) {
      const e = 4 * ve[v];
      values[4 * v] = rgba[e];
      values[4 * v + 1] = rgba[e + 1];
      values[4 * v + 2] = rgba[e + 2];
      values[4 * v + 3] = rgba[e + 3];
    }
    S.colours.modified();
    splitCells(rgba);
  }

  function render(args) {
    const height = args.height || 480;
    if (height !== S.height) {
      view.style.height = height + "px";
      S.height = height;
      send("streamlit:setFrameHeight", { height: height });
    }
    ensureWindow(args.background);
    S.grw.resize();
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
    }
    setColours(new Uint8Array(args.colours));
    const cameraKey = args.geometry_key + "|" + (args.camera_key || "");
    if (cameraKey !== S.cameraKey) {
      setCamera(args);
      S.cameraKey = cameraKey;
    }
    statusBox.textContent = args.status || "";
    statusBox.style.display = args.status ? "block" : "none";
    S.renderWindow.render();
    document.body.setAttribute("data-rendered", String(Number(document.body.getAttribute("data-rendered") || 0) + 1));
  }

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
  window.addEventListener("resize", () => { if (S.grw) { S.grw.resize(); S.renderWindow.render(); } });
  send("streamlit:componentReady", { apiVersion: 1 });
})();
