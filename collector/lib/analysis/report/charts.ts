import * as echarts from 'echarts'

export interface Series { name: string, data: Array<number | null>, stack?: boolean }

const WIDTH = 760
let drawn = 0

/**
 * An ECharts option rendered at build time to an SVG string (server-side renderer, no animation). ECharts names
 * its classes and gradients zr0-…, the same in every chart: each chart gets its own prefix so that several can
 * share a page. The namespace attributes are dropped: inline SVG in HTML needs none, and the page names no URL.
 */
export function renderChart (option: echarts.EChartsCoreOption, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height })
  chart.setOption({ animation: false, textStyle: { fontFamily: 'sans-serif' }, ...option })
  const svg = chart.renderToSVGString()
  chart.dispose()
  const prefix = `c${++drawn}-`
  return svg.replace(/zr\d+-/g, prefix).replace(/ xmlns(:xlink)?="[^"]*"/g, '')
}

/** Lines (or stacked areas) over categories; null points are gaps (below the floor). */
export function lineChart (categories: string[], series: Series[], options: { percent?: boolean } = {}): string {
  return renderChart({
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 40, bottom: 40 },
    xAxis: { type: 'category', data: categories, boundaryGap: false },
    yAxis: { type: 'value', max: options.percent === true ? 100 : undefined, axisLabel: { formatter: options.percent === true ? '{value} %' : '{value}' } },
    series: series.map(s => ({
      name: s.name,
      type: 'line',
      data: s.data,
      showSymbol: categories.length < 40,
      connectNulls: false,
      ...(s.stack === true ? { stack: 'total', areaStyle: {} } : {})
    }))
  }, 280)
}

/** Horizontal bars, one row per category (top to bottom in the given order), one bar per series. */
export function barChart (categories: string[], series: Series[], options: { unit?: string } = {}): string {
  return renderChart({
    legend: { top: 0, show: series.length > 1 },
    grid: { left: 200, right: 40, top: series.length > 1 ? 30 : 10, bottom: 30 },
    xAxis: { type: 'value', axisLabel: { formatter: `{value}${options.unit ?? ''}` } },
    yAxis: { type: 'category', data: categories, inverse: true, axisLabel: { width: 190, overflow: 'truncate' } },
    series: series.map(s => ({ name: s.name, type: 'bar', data: s.data }))
  }, 60 + categories.length * 18 * Math.max(1, series.length))
}
