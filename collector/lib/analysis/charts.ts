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
function renderChart (option: echarts.EChartsCoreOption, width: Width, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTHS[width], height })
  chart.setOption({ animation: false, textStyle: { fontFamily: 'sans-serif' }, ...option })
  const svg = chart.renderToSVGString()
  chart.dispose()
  const prefix = `c${++drawn}-`
  return svg.replace(/zr\d+-/g, prefix).replace(/ xmlns(:xlink)?="[^"]*"/g, '').replace('<svg ', `<svg class="${width}" `)
}

/** A chart at both widths; the page's CSS shows one of them. */
function bothWidths (option: (width: Width) => echarts.EChartsCoreOption, height: number): string {
  return renderChart(option('wide'), 'wide', height) + renderChart(option('narrow'), 'narrow', height)
}

const axisLabel = (unit: string) => ({ formatter: (value: number) => `${formatNumber(value)}${unit}` })

/**
 * One value per day (or per any category), as lines; `shares` draws a 100 % stacked area instead (each band a share,
 * the bands adding up to 100). A single category is drawn as bars: a line needs two points.
 */
export function lineChart (categories: string[], series: Series[], options: { shares?: boolean } = {}): string {
  const shares = options.shares === true
  const single = categories.length === 1
  return bothWidths(width => ({
    legend: { top: 0, type: width === 'narrow' ? 'scroll' : 'plain', ...(shares ? { icon: 'rect' } : {}) },
    grid: { left: width === 'narrow' ? 50 : 70, right: 20, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: categories, boundaryGap: single },
    yAxis: { type: 'value', max: shares ? 100 : undefined, axisLabel: axisLabel(shares ? ' %' : '') },
    series: series.map(s => ({
      name: s.name,
      type: single ? 'bar' : 'line',
      data: s.data,
      barMaxWidth: 60,
      showSymbol: !shares && categories.length < 40,
      connectNulls: false,
      ...(s.color === undefined ? {} : { color: s.color }),
      ...(shares ? { stack: 'shares', areaStyle: { opacity: 0.9 }, lineStyle: { width: 0 } } : {})
    }))
  }), 280)
}

/** Horizontal bars, one row per category (top to bottom in the given order), one bar per series. */
export function barChart (categories: string[], series: Series[], options: { unit?: string } = {}): string {
  const several = series.length > 1
  return bothWidths(width => ({
    legend: { top: 0, show: several },
    grid: { left: width === 'narrow' ? 120 : 200, right: 40, top: several ? 30 : 10, bottom: 30 },
    xAxis: { type: 'value', axisLabel: { ...axisLabel(options.unit ?? ''), hideOverlap: true } },
    yAxis: { type: 'category', data: categories, inverse: true, axisLabel: { width: width === 'narrow' ? 112 : 190, overflow: 'truncate' } },
    series: series.map(s => ({ name: s.name, type: 'bar', data: s.data }))
  }), 60 + categories.length * (several ? 10 * series.length + 4 : 18))
}
