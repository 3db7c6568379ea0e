/* The contrast audit of tests/e2e/test_dark_mode.py, run in the page: the relative
   luminance of the page's background and text, and every visible text whose contrast
   against what is behind it is below WCAG AA (4.5:1; 3:1 for large text: 24 px, or
   18.66 px bold). An opaque gradient counts as each of its colours. */
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a),
    a: 1,
  });
  // What is behind `el`: its colour layers down to the first opaque one. An opaque
  // gradient counts as each of its colours (the text must be readable on all of them).
  const backgroundsOf = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const s = getComputedStyle(node);
      const stops = (s.backgroundImage.match(/rgba?\([^)]+\)/g) || []).map(parse);
      const bg = parse(s.backgroundColor);
      // A gradient fading to transparent covers only part of its box (the shell's
      // sidebar column, a soft glow): not taken to be behind any one text.
      if (stops.length && stops.every((c) => c.a > 0) && s.backgroundImage.includes('gradient')) {
        layers.push(stops);
        if (stops.every((c) => c.a >= 1)) break;
      }
      if (bg && bg.a > 0) { layers.push([bg]); if (bg.a >= 1) break; }
    }
    let colours = [{ r: 255, g: 255, b: 255, a: 1 }];
    for (let i = layers.length - 1; i >= 0; i--) {
      colours = layers[i].flatMap((layer) => colours.map((under) => over(layer, under)));
    }
    return colours;
  };
  const backgroundOf = (el) => backgroundsOf(el)[0];
  const visible = (el) => {
    const s = getComputedStyle(el);
    if (s.visibility !== 'visible' || s.display === 'none' || Number(s.opacity) === 0) return false;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return false;
    if (s.clip === 'rect(0px, 0px, 0px, 0px)' || s.clipPath === 'inset(50%)') return false;
    for (let node = el; node; node = node.parentElement) {
      const ns = getComputedStyle(node);
      if (ns.display === 'none' || Number(ns.opacity) === 0) return false;
    }
    return true;
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const describe = (el) => {
    const cls = (el.className && typeof el.className === 'string') ? '.' + el.className.trim().split(/\s+/).join('.') : '';
    return el.tagName.toLowerCase() + cls;
  };
  const failures = [];
  for (const el of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT', 'OPTION', 'svg', 'path'].includes(el.tagName)) continue;
    if (el.closest('[aria-hidden="true"], .theme-preview, canvas')) continue;
    if (el.matches(':disabled') || el.closest('[disabled], .disabled')) continue;
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join('');
    if (!text || !visible(el)) continue;
    const s = getComputedStyle(el);
    const fg = parse(s.color);
    if (!fg) continue;
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    let got = Infinity;
    let bg = null;
    for (const behind of backgroundsOf(el)) {
      const r = ratio(over(fg, behind), behind);
      if (r < got) { got = r; bg = behind; }
    }
    if (got < (large ? 3 : 4.5)) {
      failures.push(`${describe(el)} "${text.slice(0, 40)}" ${got.toFixed(2)}:1 (${s.color} on rgb(${Math.round(bg.r)}, ${Math.round(bg.g)}, ${Math.round(bg.b)}))`);
    }
  }
  const body = backgroundOf(document.body);
  const main = document.querySelector('main') || document.body;
  return {
    theme: document.documentElement.getAttribute('data-theme'),
    background: lum(body),
    text: lum(parse(getComputedStyle(main).color)),
    failures: [...new Set(failures)],
  };
}
