/* bench_figures.h: the table every benchmark reports: udax against a baseline per workload, printed with ratios and written as CSV. */
#ifndef UDAX_BENCH_FIGURES_H
#define UDAX_BENCH_FIGURES_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct figure {
    const char *workload;
    double udax_ns;
    const char *baseline;
    double baseline_ns;
    double ratio; /* udax over baseline */
};

#define MAX_FIGURES 32
static struct figure figures[MAX_FIGURES];
static unsigned figure_count;

/* ratio: udax over baseline; a benchmark that runs both in each round passes the median of its rounds' ratios. */
static inline void add_paired_figure(const char *workload, double udax_ns, const char *baseline, double baseline_ns,
                                     double ratio)
{
    figures[figure_count++] = (struct figure){workload, udax_ns, baseline, baseline_ns, ratio};
}

static inline void add_figure(const char *workload, double udax_ns, const char *baseline, double baseline_ns)
{
    add_paired_figure(workload, udax_ns, baseline, baseline_ns, udax_ns / baseline_ns);
}

/* The table of medians and ratios, its name columns as wide as asked. */
static inline void print_figures(int workload_width, int baseline_width)
{
    printf("\n%-*s %14s  %-*s %14s  %10s\n", workload_width, "workload", "udax ns", baseline_width, "baseline",
           "baseline ns", "udax/base");
    for (unsigned i = 0; i < figure_count; i++) {
        const struct figure *f = &figures[i];
        printf("%-*s %14.1f  %-*s %14.1f  %10.4g\n", workload_width, f->workload, f->udax_ns, baseline_width,
               f->baseline, f->baseline_ns, f->ratio);
    }
}

static inline void write_csv(const char *program, const char *path)
{
    FILE *csv = fopen(path, "w");
    if (!csv) {
        fprintf(stderr, "%s: cannot write %s: %s\n", program, path, strerror(errno));
        return;
    }
    fprintf(csv, "workload,udax_ns,baseline_name,baseline_ns,ratio\n");
    for (unsigned i = 0; i < figure_count; i++) {
        const struct figure *f = &figures[i];
        fprintf(csv, "%s,%.1f,%s,%.1f,%.6g\n", f->workload, f->udax_ns, f->baseline, f->baseline_ns, f->ratio);
    }
    fclose(csv);
    printf("results: %s\n", path);
}

#endif
