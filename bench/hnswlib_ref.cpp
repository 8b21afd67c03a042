// hnswlib (Debian's libhnswlib-dev) on the vectors bench_ann dumps, for the side-by-side the ANN is measured
// against: same vectors, same queries, same exact top 10, M and efConstruction as given (16 and 100 by default),
// built on 2 threads, queried on one thread at several ef.
// usage: hnswlib_ref DUMP_DIR N [EF_CONSTRUCTION [M [PREFIX]]]
// Last line: RESULT hnswlib_build_s=... hnswlib_recall_efE=... hnswlib_qps_efE=... (E = 16..512). With PREFIX (the
// CLIP-like run of bench_speed.sh, several M and efConstruction): keys PREFIX_build_s=..., PREFIX_mb=...,
// PREFIX_recall_efE=... and PREFIX_qps_efE=... for E = 64..1536.
#include <hnswlib/hnswlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

static std::vector<char> slurp(const std::string &path) {
    std::vector<char> d;
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) {
        std::fprintf(stderr, "hnswlib_ref: cannot read %s\n", path.c_str());
        std::exit(1);
    }
    std::fseek(f, 0, SEEK_END);
    d.resize(std::ftell(f));
    std::fseek(f, 0, SEEK_SET);
    if (std::fread(d.data(), 1, d.size(), f) != d.size()) std::exit(1);
    std::fclose(f);
    return d;
}

static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: hnswlib_ref DUMP_DIR N [EF_CONSTRUCTION]\n");
        return 2;
    }
    const int dim = 512;
    std::string dir = argv[1];
    size_t n = std::strtoull(argv[2], nullptr, 10);
    int efc = argc > 3 ? std::atoi(argv[3]) : 100, m = argc > 4 ? std::atoi(argv[4]) : 16;
    std::string prefix = argc > 5 ? argv[5] : "hnswlib";
    std::vector<int> efs = {16, 32, 64, 128, 256, 512};
    if (argc > 5) efs = {64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536};
    auto base = slurp(dir + "/base.f32"), queries = slurp(dir + "/queries.f32"), truth_b = slurp(dir + "/truth.i64");
    const float *v = reinterpret_cast<const float *>(base.data()), *q = reinterpret_cast<const float *>(queries.data());
    const int64_t *truth = reinterpret_cast<const int64_t *>(truth_b.data());
    const int nq = (int)(queries.size() / (sizeof(float) * dim));
    hnswlib::InnerProductSpace space(dim);
    hnswlib::HierarchicalNSW<float> index(&space, n, m, efc);
    double t0 = now();
    index.addPoint(v, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; t++)
        threads.emplace_back([&, t] {
            for (size_t i = 1 + t; i < n; i += 2) index.addPoint(v + i * dim, i);
        });
    for (auto &th : threads) th.join();
    double build = now() - t0;
    // the graph and the vectors it holds (hnswlib keeps a float32 copy): its own accounting
    double mb = (index.max_elements_ * (index.size_data_per_element_ + sizeof(void *)) +
                 index.max_elements_ * sizeof(std::mutex)) / 1e6;
    for (size_t i = 0; i < n; i++) mb += index.element_levels_[i] * index.size_links_per_element_ / 1e6;
    std::printf("hnswlib 0.6.2 M=%d efConstruction=%d: built in %.1f s on 2 threads, %.0f MB with its float32 copy of "
                "the vectors\n", m, efc, build, mb);
    char head[160];
    if (argc > 5)
        std::snprintf(head, sizeof head, "RESULT %s_build_s=%.1f %s_mb=%.0f", prefix.c_str(), build, prefix.c_str(), mb);
    else
        std::snprintf(head, sizeof head, "RESULT hnswlib_build_s=%.1f", build);
    std::string result = head;
    for (int ef : efs) {
        index.setEf(ef);
        int hit = 0;
        t0 = now();
        for (int k = 0; k < nq; k++) {
            auto res = index.searchKnn(q + (size_t)k * dim, 10);
            while (!res.empty()) {
                for (int j = 0; j < 10; j++) hit += (int64_t)res.top().second == truth[k * 10 + j];
                res.pop();
            }
        }
        double qps = nq / (now() - t0), recall = hit / (10.0 * nq);
        std::printf("  ef %4d  recall@10 %.3f  %7.0f queries/s (1 thread)\n", ef, recall, qps);
        char kv[200];
        std::snprintf(kv, sizeof kv, " %s_recall_ef%d=%.3f %s_qps_ef%d=%.0f", prefix.c_str(), ef, recall,
                      prefix.c_str(), ef, qps);
        result += kv;
    }
    std::printf("%s\n", result.c_str());
    return 0;
}
