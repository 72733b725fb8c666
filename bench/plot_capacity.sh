#!/usr/bin/env bash
# bench/plot_capacity.sh STEPS.tsv OUT.png SCENARIO BOUND_MS CAPACITY FLOOR: draws a capacity run
# (bench/run SCENARIO, issue 21) with gnuplot (Debian's gnuplot-nox): the offered rate against
# the service's p50 and p99 (log scale) and the floor's p99, the errors and overload refusals of
# each step on the right-hand axis, the scenario's p99 bound as a line, and the capacity and the
# floor's capacity marked. The knee is where the p99 curve leaves the floor's and meets the bound.
# The TSV is the one bench/run writes (a header line, then one row per step: scenario, kind
# service|floor|uncached (the gateway's reads past its cache, drawn when present), offered, rate,
# p50_ms, p99_ms, errors, refused, accepted_rate, accepted_p99_ms, held).
set -euo pipefail

if [ $# -ne 6 ]; then
  echo "usage: bench/plot_capacity.sh STEPS.tsv OUT.png SCENARIO BOUND_MS CAPACITY FLOOR" >&2
  exit 2
fi
tsv="$1" png="$2" scenario="$3" bound="$4" capacity="$5" floor="$6"
command -v gnuplot >/dev/null || { echo "no gnuplot (apt-get install gnuplot-nox)" >&2; exit 1; }

# One file per kind: gnuplot's own filtering of rows by a text column is clumsy.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
awk -F'\t' -v dir="$work" 'NR > 1 { print $3, $5, $6, $7 + $8 > (dir "/" $2 ".dat") }' "$tsv"
touch "$work/service.dat" "$work/floor.dat"
uncached_plot=""
if [ -s "$work/uncached.dat" ]; then
  uncached_plot=", \"$work/uncached.dat\" using 1:(\$3 > 0 ? \$3 : 0.01) with linespoints lw 2 lc rgb \"purple\" title \"uncached p99\""
fi

gnuplot <<GNUPLOT
set terminal pngcairo size 1000,600 font "sans,10"
set output "$png"
set title "$scenario: offered rate against latency (capacity $capacity/s, floor $floor/s)"
set xlabel "offered rate (operations/s, open loop)"
set ylabel "latency (ms, log scale)"
set logscale y
set y2label "errors + refused in the step"
set y2tics
set y2range [0:*]
set ytics nomirror
set key bottom right opaque
set grid xtics ytics
set arrow from graph 0, first $bound to graph 1, first $bound nohead dashtype 2 lc rgb "red"
set label "p99 bound $bound ms" at graph 0.01, first $bound offset 0,0.7 tc rgb "red"
if ($capacity > 0) {
  set arrow from $capacity, graph 0 to $capacity, graph 1 nohead lc rgb "blue"
  set label "capacity" at $capacity, graph 0.95 offset 0.5,0 tc rgb "blue"
}
if ($floor > 0) {
  set arrow from $floor, graph 0 to $floor, graph 1 nohead dashtype 3 lc rgb "dark-gray"
  set label "floor" at $floor, graph 0.90 offset 0.5,0 tc rgb "dark-gray"
}
plot "$work/service.dat" using 1:(\$3 > 0 ? \$3 : 0.01) with linespoints lw 2 lc rgb "blue" title "service p99", \
     "$work/service.dat" using 1:(\$2 > 0 ? \$2 : 0.01) with linespoints lc rgb "sea-green" title "service p50", \
     "$work/floor.dat" using 1:(\$3 > 0 ? \$3 : 0.01) with linespoints dashtype 2 lc rgb "dark-gray" title "floor p99", \
     "$work/service.dat" using 1:4 axes x1y2 with impulses lw 6 lc rgb "orange" title "service errors + refused"$uncached_plot
GNUPLOT
