// ThumbHash decoder: a placeholder's bytes (base64) to a small PNG data URL, painted behind a
// thumbnail until it loads. Written for this page after the format of Evan Wallace's ThumbHash
// (MIT licence, https://github.com/evanw/thumbhash); the worker encodes (renderers/thumbhash.py).
function thumbHashToDataURL(base64) {
  const hash = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
  const { PI, cos, round, max, min } = Math;
  const header24 = hash[0] | hash[1] << 8 | hash[2] << 16, header16 = hash[3] | hash[4] << 8;
  const hasAlpha = header24 >> 23 & 1, landscape = header16 >> 15 & 1;
  const lDc = (header24 & 63) / 63, pDc = (header24 >> 6 & 63) / 31.5 - 1, qDc = (header24 >> 12 & 63) / 31.5 - 1;
  const lScale = (header24 >> 18 & 31) / 31, pScale = (header16 >> 3 & 63) / 63, qScale = (header16 >> 9 & 63) / 63;
  const longSide = hasAlpha ? 5 : 7, shortSide = header16 & 7;
  const lx = max(3, landscape ? longSide : shortSide), ly = max(3, landscape ? shortSide : longSide);
  const aDc = hasAlpha ? (hash[5] & 15) / 15 : 1, aScale = (hash[5] >> 4) / 15;
  // The varying factors: four bits each, channel after channel, in a triangle of low frequencies.
  const start = hasAlpha ? 6 : 5;
  let index = 0;
  const factors = (nx, ny, scale) => {
    const ac = [];
    for (let cy = 0; cy < ny; cy++)
      for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++, index++)
        ac.push(((hash[start + (index >> 1)] >> ((index & 1) << 2) & 15) / 7.5 - 1) * scale);
    return ac;
  };
  // Saturation is boosted by 1.25 to make up for the quantisation, as the reference decoder does.
  const lAc = factors(lx, ly, lScale), pAc = factors(3, 3, pScale * 1.25), qAc = factors(3, 3, qScale * 1.25);
  const aAc = hasAlpha ? factors(5, 5, aScale) : [];
  const term = (ac, nx, ny, fx, fy) => {
    let value = 0;
    for (let cy = 0, j = 0; cy < ny; cy++)
      for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++, j++) value += ac[j] * fx[cx] * fy[cy] * 2;
    return value;
  };
  const ratio = landscape ? longSide / shortSide : shortSide / longSide;
  const w = round(ratio > 1 ? 32 : 32 * ratio), h = round(ratio > 1 ? 32 / ratio : 32);
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(w, h);
  const fx = [], fy = [];
  for (let y = 0, i = 0; y < h; y++) {
    for (let c = 0; c < 7; c++) fy[c] = cos(PI / h * (y + 0.5) * c);
    for (let x = 0; x < w; x++, i += 4) {
      for (let c = 0; c < 7; c++) fx[c] = cos(PI / w * (x + 0.5) * c);
      const l = lDc + term(lAc, lx, ly, fx, fy), p = pDc + term(pAc, 3, 3, fx, fy), q = qDc + term(qAc, 3, 3, fx, fy);
      const a = aDc + (hasAlpha ? term(aAc, 5, 5, fx, fy) : 0);
      const b = l - 2 / 3 * p, r = (3 * l - b + q) / 2, g = r - q;
      pixels.data.set([r, g, b, a].map(v => max(0, min(255, round(255 * v)))), i);
    }
  }
  context.putImageData(pixels, 0, 0);
  return canvas.toDataURL("image/png");
}
