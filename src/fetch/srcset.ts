/**
 * The URLs of a `srcset` attribute, by the WHATWG "parse a srcset attribute"
 * algorithm: a candidate is a run of non-whitespace (so commas inside a URL
 * such as `a.jpg?crop=1,2` survive), then descriptors up to the next comma
 * outside parentheses. Descriptors are skipped: every candidate is wanted.
 */
export function srcsetUrls(srcset: string): string[] {
  const urls: string[] = [];
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
  let i = 0;
  while (i < srcset.length) {
    while (i < srcset.length && (isSpace(srcset[i]) || srcset[i] === ',')) i++;
    if (i >= srcset.length) break;
    const start = i;
    while (i < srcset.length && !isSpace(srcset[i])) i++;
    let url = srcset.slice(start, i);
    if (url.endsWith(',')) {
      // "a.jpg,b.jpg 2x": the URL ends at its trailing commas and has no descriptors.
      url = url.replace(/,+$/, '');
    } else {
      let depth = 0;
      while (i < srcset.length) {
        const c = srcset[i];
        if (c === '(') depth++;
        else if (c === ')') depth = Math.max(0, depth - 1);
        else if (c === ',' && depth === 0) break;
        i++;
      }
    }
    if (url !== '') urls.push(url);
  }
  return urls;
}
