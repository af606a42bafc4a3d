/**
 * Image URLs in CSS (a style attribute or a <style> block): `url(...)`,
 * quoted or not, and the strings of `image-set(...)`. Comments are skipped,
 * and @import rules, which name stylesheets, not images. A regular scan, not
 * a CSS parser: enough for what pages put in inline styles.
 */
export function cssUrls(css: string): string[] {
  const text = css.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/@import\s+[^;]*;?/gi, ' ');
  const urls: string[] = [];
  const urlPattern =
    /url\(\s*(?:"((?:[^"\\]|\\[\s\S])*)"|'((?:[^'\\]|\\[\s\S])*)'|((?:[^)\s"'\\]|\\[\s\S])*))\s*\)/gi;
  for (const match of text.matchAll(urlPattern)) {
    const raw = match[1] ?? match[2] ?? match[3] ?? '';
    if (raw.trim() !== '') urls.push(unescapeCss(raw.trim()));
  }
  // image-set("a.png" 1x, "a-2x.png" 2x): plain strings are URLs here.
  for (const set of text.matchAll(/(?:-webkit-)?image-set\(((?:[^()]|\([^()]*\))*)\)/gi)) {
    const body = set[1].replace(/url\([^)]*\)/gi, ' ');
    for (const string of body.matchAll(/"((?:[^"\\]|\\[\s\S])*)"|'((?:[^'\\]|\\[\s\S])*)'/g)) {
      const raw = string[1] ?? string[2] ?? '';
      if (raw.trim() !== '') urls.push(unescapeCss(raw.trim()));
    }
  }
  return urls;
}

/** CSS escapes: "\\26 " is "&", "\\(" is "(", a backslash before a newline disappears. */
function unescapeCss(text: string): string {
  return text.replace(
    /\\(?:([0-9a-fA-F]{1,6})\s?|(\n)|([\s\S]))/g,
    (_m, hex: string, newline: string, char: string) => {
      if (hex !== undefined) {
        const code = parseInt(hex, 16);
        return code === 0 || code > 0x10ffff ? '\ufffd' : String.fromCodePoint(code);
      }
      return newline !== undefined ? '' : char;
    },
  );
}
