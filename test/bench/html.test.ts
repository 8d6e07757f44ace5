import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { barPanels, boxPlot, niceTicks } from '../../src/report/charts.js';
import { renderHtml } from '../../src/report/html.js';

describe('SVG charts and the HTML page', () => {
  it('ticks are round and cover the range', () => {
    assert.deepEqual(niceTicks(0, 9.3), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(niceTicks(0, 0.42), [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    assert.deepEqual(niceTicks(0, 250), [0, 50, 100, 150, 200, 250]);
  });

  it('one box per series, the median where it belongs, labels escaped', () => {
    const svg = boxPlot([{ label: 'a<b', values: [1, 2, 3, 4, 5] }, { label: 'c', values: [2, 2, 2] }], 'T & co', 'ms');
    assert.equal((svg.match(/<g class="box">/g) ?? []).length, 2);
    assert.match(svg, /a&lt;b: median 3\.000 ms/);
    assert.match(svg, /aria-label="T &amp; co"/);
    assert.doesNotMatch(svg, /a<b/);
  });

  it('bars scale to the largest value of their panel', () => {
    const svg = barPanels([{ title: 'p', bars: [{ label: 'x', value: 2 }, { label: 'y', value: 1 }] }], 'cmp');
    const widths = [...svg.matchAll(/<rect [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.equal(widths.length, 2);
    assert.ok(Math.abs(widths[0]! - 2 * widths[1]!) < 0.02, String(widths));
  });

  it('renders sections, tables and figures into one page without scripts', () => {
    const html = renderHtml(
      { title: 'R <1>', sections: [{ title: 'S', lines: ['l & m'], table: { columns: ['k', 'v'], rows: [['a', 1], ['b', null]] } }], warnings: ['w'], data: {} },
      [{ title: 'F', svg: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' }],
    );
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<h1>R &lt;1&gt;<\/h1>/);
    assert.match(html, /<td class="num">1<\/td>/);
    assert.match(html, /<li>l &amp; m<\/li>/);
    assert.ok(html.indexOf('<svg') < html.indexOf('<h2>S</h2>'));
    assert.doesNotMatch(html, /<script/);
  });
});
