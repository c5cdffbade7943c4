import * as echarts from 'echarts'
import { formatNumber } from './text'

export interface Series { name: string, data: Array<number | null>, color?: string }

/** The two widths each chart is drawn at: the page shows the wide one on a wide screen, the narrow one on a phone. */
const WIDTHS = { wide: 760, narrow: 360 } as const
type Width = keyof typeof WIDTHS
let drawn = 0

/**
 * An ECharts option rendered at build time to an SVG string (server-side renderer, no animation). ECharts names
 * its classes and gradients zr0-…, the same in every chart: each chart gets its own prefix so that several can
 * share a page. The namespace attributes are dropped: inline SVG in HTML needs none, and the page names no URL.
 */
function renderChart (option: echarts.EChartsCoreOption, height: number, width: Width): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTHS[width], height })
  chart.setOption({ animation: false, textStyle: { fontFamily: 'sans-serif' }, ...option })
  const svg = chart.renderToSVGString()
  chart.dispose()
  const prefix = `c${++drawn}-`
  return svg.replace(/zr\d+-/g, prefix).replace(/ xmlns(:xlink)?="[^"]*"/g, '').replace('<svg ', `<svg class="${width}" `)
}

/** A chart at both widths (its option and height for each); the page's CSS shows one of them. */
function bothWidths (draw: (width: Width) => [echarts.EChartsCoreOption, number]): string {
  return (['wide', 'narrow'] as const).map(width => renderChart(...draw(width), width)).join('')
}

/**
 * Room above the plot for the legend: ECharts wraps a plain legend onto more lines when it is wider than the chart
 * (a scrolling legend would need JavaScript to page); the width of a line is estimated from the names' lengths.
 */
function legendHeight (series: Series[], width: Width): number {
  const needed = series.reduce((sum, s) => sum + s.name.length * 7 + 40, 0)
  return Math.ceil(needed / (WIDTHS[width] - 20)) * 22
}

/**
 * ECharts' default palette, given out from the newest published version (`versions` oldest first) back: a version has
 * one colour on every chart, and the latest is blue, as in the release comparison.
 */
const PALETTE = ['#5470c6', '#91cc75', '#fac858', '#ee6666', '#73c0de', '#3ba272', '#fc8452', '#9a60b4', '#ea7ccc']
export const versionColour = (versions: readonly string[], version: string): string =>
  PALETTE[(versions.length - 1 - versions.indexOf(version)) % PALETTE.length]

const colour = (s: Series): { color?: string } => s.color === undefined ? {} : { color: s.color }

const axisLabel = (unit: string) => ({ formatter: (value: number) => `${formatNumber(value)}${unit}` })

/**
 * One value per day (or per any category), as lines; `shares` stacks each day's shares into one 100 % column
 * instead, the columns touching, so that the bands read as a 100 % stacked area with no slope between two days
 * (a share is a day's, not a trend between days); `stacked` stacks each day's values into one column, as counts. A
 * single category is drawn as bars: a line needs two points.
 */
export function lineChart (categories: string[], series: Series[], options: { shares?: boolean, stacked?: boolean } = {}): string {
  const shares = options.shares === true
  const stacked = shares || options.stacked === true
  const bars = stacked || categories.length === 1
  return bothWidths(width => [{
    legend: { top: 0, ...(stacked ? { icon: 'rect' } : {}) },
    grid: { left: width === 'narrow' ? 50 : 70, right: 20, top: legendHeight(series, width) + 18, bottom: 30 },
    xAxis: { type: 'category', data: categories, boundaryGap: bars },
    yAxis: { type: 'value', max: shares ? 100 : undefined, axisLabel: axisLabel(shares ? ' %' : '') },
    series: series.map(s => ({
      name: s.name,
      type: bars ? 'bar' : 'line',
      data: s.data,
      barMaxWidth: shares ? undefined : 60,
      showSymbol: categories.length < 40,
      connectNulls: false,
      ...colour(s),
      ...(stacked ? { stack: 'day' } : {}),
      ...(shares ? { barCategoryGap: '0%' } : {})
    }))
  }, 240 + legendHeight(series, width)])
}

/** Horizontal bars, one row per category (top to bottom in the given order), one bar per series. */
export function barChart (categories: string[], series: Series[], options: { unit?: string } = {}): string {
  const several = series.length > 1
  return bothWidths(width => {
    const legend = several ? legendHeight(series, width) : 0
    return [{
      legend: { top: 0, show: several },
      grid: { left: width === 'narrow' ? 120 : 200, right: 40, top: legend + 10, bottom: 30 },
      xAxis: { type: 'value', axisLabel: { ...axisLabel(options.unit ?? ''), hideOverlap: true } },
      yAxis: { type: 'category', data: categories, inverse: true, axisLabel: { width: width === 'narrow' ? 112 : 190, overflow: 'truncate' } },
      series: series.map(s => ({ name: s.name, type: 'bar', data: s.data, ...colour(s) }))
    }, 50 + legend + categories.length * (several ? 10 * series.length + 4 : 18)]
  })
}
