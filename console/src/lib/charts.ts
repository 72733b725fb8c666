// Apache ECharts, only the parts the console draws (keeps the bundle small).
import * as echarts from 'echarts/core';
import { BarChart, FunnelChart, LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent, AriaComponent, DataZoomComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([LineChart, BarChart, ScatterChart, FunnelChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, AriaComponent, DataZoomComponent, CanvasRenderer]);

export type Chart = echarts.ECharts;
export type ChartOption = echarts.EChartsCoreOption;

/** A chart in `el` that follows the window's size; dispose() when the page goes. */
export function mountChart(el: HTMLElement, label: string): { chart: Chart; dispose: () => void } {
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', label);
  const chart = echarts.init(el, undefined, { renderer: 'canvas' });
  const onResize = () => chart.resize();
  window.addEventListener('resize', onResize);
  return {
    chart,
    dispose: () => {
      window.removeEventListener('resize', onResize);
      chart.dispose();
    },
  };
}
