# Draws docs/dashboard.png from the samples TestRenderDashboard computes
# (gnuplot -e 'data="samples.tsv"; out="dashboard.png"' screenshot.gp).
set terminal pngcairo noenhanced size 1400,900 font "DejaVu Sans,10"
set output out
set multiplot layout 3,2 title "engage-bridge dashboard, rendered from /metrics samples of a 25 s load run (send --load --rate 2000 --concurrency 16, kfake broker); not a Grafana screenshot" font ",11"
set key top left
set grid
set xlabel "seconds"
set datafile missing "NaN"
set title "Webhooks/s by outcome"
plot data using 1:2 with lines lw 2 title "published", data using 1:3 with lines lw 2 title "other outcomes"
set title "Answer latency p50 / p99 (request_duration_seconds)"
set ylabel "ms"
plot data using 1:4 with lines lw 2 title "p50", data using 1:5 with lines lw 2 title "p99"
set title "Kafka publish latency p99 (acks=all)"
plot data using 1:6 with lines lw 2 title "p99"
set title "In-flight requests against BRIDGE_MAX_IN_FLIGHT (1024)"
set ylabel "requests"
plot data using 1:7 with lines lw 2 title "in flight", 1024 with lines dt 2 title "BRIDGE_MAX_IN_FLIGHT"
set title "Process CPU"
set ylabel "cores"
plot data using 1:8 with lines lw 2 title "CPU seconds/s"
set title "Process memory (resident)"
set ylabel "MiB"
plot data using 1:9 with lines lw 2 title "RSS"
unset multiplot
