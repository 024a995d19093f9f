// tests/pluginHarness.cpp — drives libcomix_trt_plugins.so the way TensorRT would, without libnvinfer.
//
// Usage: pluginHarness <libcomix_trt_plugins.so> <grid dir> <out dir>
// For every (case, dtype) of <grid dir>/cases.txt (written by tools/plugin_harness.py write-grid from the
// shared DCN grid comix/ops/cases.py), through the library's own getCreators():
//   phase 1, no CUDA: create the plugin through its creator (build phase) -> getOutputDataTypes,
//   getOutputShapes (constant shapes), supportsFormatCombination, configurePlugin, getWorkspaceSize ->
//   getFieldsToSerialize -> recreate through the creator in the runtime phase -> attachToContext ->
//   onShapeChange;
//   phase 2, CUDA: inputs and a workspace in cudaMalloc'd buffers, the output followed by a guard band
//   filled with a byte pattern -> enqueue on a stream -> output to <out dir>/<id>.<dtype>.y.f32 (as float32)
//   and a guard-band check -> the same enqueue captured into a CUDA graph and replayed into a re-poisoned
//   buffer: bit-identical to the first output, guard band intact.
// It prints ONE JSON object of observations; tools/plugin_harness.py check decides (against the float64
// reference and the expected shapes and sizes). Exit codes: 0 = ran every step; 2 = could not start
// (usage, library, grid); 3 = phase 1 done and the first CUDA call failed (no GPU or driver: what a CPU
// machine reaches, the dry run).
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <NvInferRuntime.h>

#include "constantExprBuilder.h"

namespace {

using namespace nvinfer1;

constexpr size_t kGuardBytes = 4096;
constexpr unsigned char kPoison = 0xA5;

// One line of cases.txt.
struct GridCase
{
    std::string id;
    std::string dtype; // float32 | float16
    int32_t nd{};
    int64_t n{}, c{}, o{};
    int64_t in[3]{}, k[3]{}, s[3]{}, pb[3]{}, pe[3]{}, dil[3]{}, out[3]{};
    int64_t group{}, offsetGroup{};
    bool bias{}, mask{};

    std::vector<int64_t> spatial(int64_t const (&v)[3]) const
    {
        return std::vector<int64_t>(v + (3 - nd), v + 3);
    }
    int64_t kernelPoints() const
    {
        int64_t kp = 1;
        for (int64_t v : spatial(k))
        {
            kp *= v;
        }
        return kp;
    }
    int64_t volume(int64_t const (&v)[3]) const
    {
        int64_t p = 1;
        for (int64_t x : spatial(v))
        {
            p *= x;
        }
        return p;
    }
    // Shapes of the plugin's inputs: X, W, offset, [B], [mask] (a mask without bias gets a zero bias).
    std::vector<std::vector<int64_t>> inputShapes() const
    {
        std::vector<int64_t> x{n, c}, w{o, c / group}, off{n, offsetGroup * kernelPoints() * nd},
            m{n, offsetGroup * kernelPoints()};
        for (int64_t v : spatial(in))
        {
            x.push_back(v);
        }
        for (int64_t v : spatial(k))
        {
            w.push_back(v);
        }
        for (int64_t v : spatial(out))
        {
            off.push_back(v);
            m.push_back(v);
        }
        std::vector<std::vector<int64_t>> shapes{x, w, off};
        if (bias || mask)
        {
            shapes.push_back({o});
        }
        if (mask)
        {
            shapes.push_back(m);
        }
        return shapes;
    }
};

int64_t count(std::vector<int64_t> const& shape)
{
    int64_t p = 1;
    for (int64_t v : shape)
    {
        p *= v;
    }
    return p;
}

bool readGrid(std::string const& dir, std::vector<GridCase>& cases, std::string& error)
{
    std::ifstream in(dir + "/cases.txt");
    if (!in)
    {
        error = dir + "/cases.txt: cannot be read";
        return false;
    }
    std::string line;
    while (std::getline(in, line))
    {
        if (line.empty() || line[0] == '#')
        {
            continue;
        }
        std::istringstream fields(line);
        GridCase g;
        int32_t bias = 0;
        int32_t mask = 0;
        fields >> g.id >> g.dtype >> g.nd >> g.n >> g.c >> g.o;
        for (auto* field : {g.in, g.k, g.s, g.pb, g.pe, g.dil})
        {
            for (int32_t a = 0; a < 3; ++a)
            {
                fields >> field[a];
            }
        }
        fields >> g.group >> g.offsetGroup >> bias >> mask >> g.out[0] >> g.out[1] >> g.out[2];
        if (!fields || (g.nd != 2 && g.nd != 3) || (g.dtype != "float32" && g.dtype != "float16"))
        {
            error = dir + "/cases.txt: got an unreadable line '" + line + "', expected 33 fields";
            return false;
        }
        g.bias = bias != 0;
        g.mask = mask != 0;
        cases.push_back(g);
    }
    if (cases.empty())
    {
        error = dir + "/cases.txt: got no cases";
        return false;
    }
    return true;
}

bool readFloats(std::string const& path, size_t n, std::vector<float>& values)
{
    values.assign(n, 0.F);
    std::ifstream in(path, std::ios::binary);
    return n == 0
           || static_cast<bool>(
               in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(n * sizeof(float))));
}

Dims dimsOf(std::vector<int64_t> const& v)
{
    Dims d{};
    d.nbDims = static_cast<int32_t>(v.size());
    for (size_t i = 0; i < v.size(); ++i)
    {
        d.d[i] = v[i];
    }
    return d;
}

std::string jsonInts(std::vector<int64_t> const& v)
{
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < v.size(); ++i)
    {
        out << (i ? "," : "") << v[i];
    }
    out << "]";
    return out.str();
}

std::string jsonString(std::string const& text)
{
    std::string out = "\"";
    for (char ch : text)
    {
        if (ch == '"' || ch == '\\')
        {
            out += '\\';
            out += ch;
        }
        else if (static_cast<unsigned char>(ch) < 0x20)
        {
            out += ' ';
        }
        else
        {
            out += ch;
        }
    }
    return out + "\"";
}

bool sameFields(PluginFieldCollection const* a, PluginFieldCollection const* b)
{
    if (a == nullptr || b == nullptr || a->nbFields != b->nbFields)
    {
        return false;
    }
    for (int32_t i = 0; i < a->nbFields; ++i)
    {
        PluginField const& x = a->fields[i];
        PluginField const& y = b->fields[i];
        size_t const bytes = x.type == PluginFieldType::kINT64 ? 8 : 4;
        if (std::strcmp(x.name, y.name) != 0 || x.type != y.type || x.length != y.length
            || std::memcmp(x.data, y.data, bytes * static_cast<size_t>(x.length)) != 0)
        {
            return false;
        }
    }
    return true;
}

// TensorRT makes this object; a harness has to stand in for it (the plugin ignores it: no per-context resources).
class HarnessResourceContext : public IPluginResourceContext
{
public:
    IGpuAllocator* getGpuAllocator() const noexcept override
    {
        return nullptr;
    }
    IErrorRecorder* getErrorRecorder() const noexcept override
    {
        return nullptr;
    }
};

// The plugins and descriptors of one (case, dtype) after phase 1.
struct Prepared
{
    GridCase grid;
    std::unique_ptr<IPluginV3> attached;
    std::vector<PluginTensorDesc> inputs;
    PluginTensorDesc output{};
    size_t workspace{};
    bool ready{false};
};

using GetCreators = IPluginCreatorInterface* const* (*)(int32_t&);

IPluginCreatorV3One* findCreator(IPluginCreatorInterface* const* creators, int32_t n, char const* name)
{
    for (int32_t i = 0; i < n; ++i)
    {
        if (std::strcmp(creators[i]->getInterfaceInfo().kind, "PLUGIN CREATOR_V3ONE") != 0)
        {
            continue;
        }
        auto* creator = static_cast<IPluginCreatorV3One*>(creators[i]);
        if (std::strcmp(creator->getPluginName(), name) == 0 && std::strcmp(creator->getPluginVersion(), "1") == 0)
        {
            return creator;
        }
    }
    return nullptr;
}

// Phase 1 (no CUDA): creator -> build interface -> serialise -> recreate (runtime phase) -> attach -> shapes.
std::string prepare(IPluginCreatorV3One* creator, Prepared& p)
{
    GridCase const& g = p.grid;
    std::ostringstream out;
    std::vector<int32_t> kernel, strides, pads, dilations;
    for (int64_t v : g.spatial(g.k))
    {
        kernel.push_back(static_cast<int32_t>(v));
    }
    for (int64_t v : g.spatial(g.s))
    {
        strides.push_back(static_cast<int32_t>(v));
    }
    for (int64_t v : g.spatial(g.pb))
    {
        pads.push_back(static_cast<int32_t>(v));
    }
    for (int64_t v : g.spatial(g.pe))
    {
        pads.push_back(static_cast<int32_t>(v));
    }
    for (int64_t v : g.spatial(g.dil))
    {
        dilations.push_back(static_cast<int32_t>(v));
    }
    int32_t group = static_cast<int32_t>(g.group);
    int32_t offsetGroup = static_cast<int32_t>(g.offsetGroup);
    PluginField fields[] = {
        {"kernel_shape", kernel.data(), PluginFieldType::kINT32, static_cast<int32_t>(kernel.size())},
        {"strides", strides.data(), PluginFieldType::kINT32, static_cast<int32_t>(strides.size())},
        {"pads", pads.data(), PluginFieldType::kINT32, static_cast<int32_t>(pads.size())},
        {"dilations", dilations.data(), PluginFieldType::kINT32, static_cast<int32_t>(dilations.size())},
        {"group", &group, PluginFieldType::kINT32, 1},
        {"offset_group", &offsetGroup, PluginFieldType::kINT32, 1},
    };
    PluginFieldCollection fc{6, fields};
    std::unique_ptr<IPluginV3> built(creator->createPlugin(g.id.c_str(), &fc, TensorRTPhase::kBUILD));
    out << "\"created\":" << (built ? "true" : "false");
    if (!built)
    {
        return out.str();
    }
    auto* build = static_cast<IPluginV3OneBuild*>(built->getCapabilityInterface(PluginCapabilityType::kBUILD));
    DataType const type = g.dtype == "float16" ? DataType::kHALF : DataType::kFLOAT;
    std::vector<std::vector<int64_t>> const shapes = g.inputShapes();
    int32_t const nbIn = static_cast<int32_t>(shapes.size());

    std::vector<DataType> inTypes(shapes.size(), type);
    DataType outType = DataType::kINT8;
    int32_t rc = build->getOutputDataTypes(&outType, 1, inTypes.data(), nbIn);
    out << ",\"nb_outputs\":" << build->getNbOutputs() << ",\"output_type_rc\":" << rc
        << ",\"output_type_matches\":" << (outType == type ? "true" : "false");

    comix::trt::test::ConstantExprBuilder exprs;
    std::vector<DimsExprs> inExprs(shapes.size());
    for (size_t i = 0; i < shapes.size(); ++i)
    {
        inExprs[i].nbDims = static_cast<int32_t>(shapes[i].size());
        for (size_t j = 0; j < shapes[i].size(); ++j)
        {
            inExprs[i].d[j] = exprs.constant(shapes[i][j]);
        }
    }
    DimsExprs outExpr{};
    rc = build->getOutputShapes(inExprs.data(), nbIn, nullptr, 0, &outExpr, 1, exprs);
    std::vector<int64_t> outShape;
    for (int32_t j = 0; rc == 0 && j < outExpr.nbDims; ++j)
    {
        outShape.push_back(outExpr.d[j]->getConstantValue());
    }
    out << ",\"output_shape_rc\":" << rc << ",\"output_shape\":" << jsonInts(outShape);

    std::vector<DynamicPluginTensorDesc> desc(shapes.size() + 1);
    for (int32_t i = 0; i <= nbIn; ++i)
    {
        std::vector<int64_t> const& s = i < nbIn ? shapes[static_cast<size_t>(i)] : outShape;
        desc[i].desc.dims = dimsOf(s);
        desc[i].desc.type = type;
        desc[i].desc.format = TensorFormat::kLINEAR;
        desc[i].desc.scale = -1.F;
        desc[i].min = desc[i].opt = desc[i].max = dimsOf(s);
    }
    bool linear = true;
    for (int32_t pos = 0; pos <= nbIn; ++pos)
    {
        linear = linear && build->supportsFormatCombination(pos, desc.data(), nbIn, 1);
    }
    desc[1].desc.type = type == DataType::kFLOAT ? DataType::kHALF : DataType::kFLOAT;
    bool const mixed = build->supportsFormatCombination(1, desc.data(), nbIn, 1);
    desc[1].desc.type = type;
    out << ",\"supports_linear\":" << (linear ? "true" : "false")
        << ",\"supports_mixed_types\":" << (mixed ? "true" : "false");
    out << ",\"configure_rc\":" << build->configurePlugin(desc.data(), nbIn, desc.data() + nbIn, 1);
    p.workspace = build->getWorkspaceSize(desc.data(), nbIn, desc.data() + nbIn, 1);
    out << ",\"workspace_bytes\":" << p.workspace;

    auto* core = static_cast<IPluginV3OneRuntime*>(built->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
    PluginFieldCollection const* serialized = core->getFieldsToSerialize();
    std::unique_ptr<IPluginV3> runtime(creator->createPlugin(g.id.c_str(), serialized, TensorRTPhase::kRUNTIME));
    out << ",\"runtime_created\":" << (runtime ? "true" : "false");
    if (!runtime)
    {
        return out.str();
    }
    auto* runtimeCore =
        static_cast<IPluginV3OneRuntime*>(runtime->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
    out << ",\"serialized_equal\":" << (sameFields(serialized, runtimeCore->getFieldsToSerialize()) ? "true" : "false");
    HarnessResourceContext context;
    p.attached.reset(runtimeCore->attachToContext(&context));
    out << ",\"attached\":" << (p.attached ? "true" : "false");
    if (!p.attached)
    {
        return out.str();
    }
    for (int32_t i = 0; i < nbIn; ++i)
    {
        p.inputs.push_back(desc[i].desc);
    }
    p.output = desc[nbIn].desc;
    auto* attachedRuntime =
        static_cast<IPluginV3OneRuntime*>(p.attached->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
    rc = attachedRuntime->onShapeChange(p.inputs.data(), nbIn, &p.output, 1);
    out << ",\"shape_change_rc\":" << rc;
    p.ready = rc == 0 && outShape.size() == static_cast<size_t>(g.nd + 2);
    return out.str();
}

std::string cudaText(cudaError_t status)
{
    return std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")";
}

// Device buffers of one call; freed on destruction.
struct DeviceBuffers
{
    std::vector<void*> pointers;
    ~DeviceBuffers()
    {
        for (void* p : pointers)
        {
            cudaFree(p);
        }
    }
    cudaError_t alloc(size_t bytes, void** out)
    {
        *out = nullptr;
        if (bytes == 0)
        {
            return cudaSuccess;
        }
        cudaError_t const status = cudaMalloc(out, bytes);
        if (status == cudaSuccess)
        {
            pointers.push_back(*out);
        }
        return status;
    }
};

#define HARNESS_CHECK(call)                                                                                            \
    do                                                                                                                 \
    {                                                                                                                  \
        cudaError_t const harnessStatus = (call);                                                                      \
        if (harnessStatus != cudaSuccess)                                                                              \
        {                                                                                                              \
            return std::string("\"status\":") + jsonString(std::string(#call) + ": " + cudaText(harnessStatus));       \
        }                                                                                                              \
    } while (0)

// Phase 2 for one prepared plugin.
std::string runOnDevice(Prepared& p, std::string const& gridDir, std::string const& outDir, cudaStream_t stream)
{
    GridCase const& g = p.grid;
    bool const half = g.dtype == "float16";
    size_t const element = half ? 2 : 4;
    std::vector<std::vector<int64_t>> const shapes = g.inputShapes();
    char const* names[] = {"x", "w", "offset", "bias", "mask"};
    DeviceBuffers buffers;
    std::vector<void const*> inputs;
    for (size_t i = 0; i < shapes.size(); ++i)
    {
        size_t const n = static_cast<size_t>(count(shapes[i]));
        std::vector<float> values;
        bool const zeroBias = i == 3 && !g.bias; // mask without bias: the zero bias the export gives
        if (!zeroBias && !readFloats(gridDir + "/" + g.id + "." + g.dtype + "." + names[i] + ".f32", n, values))
        {
            return "\"status\":" + jsonString(std::string("input ") + names[i] + ": cannot be read");
        }
        if (zeroBias)
        {
            values.assign(n, 0.F);
        }
        std::vector<__half> halves;
        void const* host = values.data();
        if (half)
        {
            for (float v : values)
            {
                halves.push_back(__float2half(v));
            }
            host = halves.data();
        }
        void* device = nullptr;
        HARNESS_CHECK(buffers.alloc(n * element, &device));
        if (n > 0)
        {
            HARNESS_CHECK(cudaMemcpy(device, host, n * element, cudaMemcpyHostToDevice));
        }
        inputs.push_back(device);
    }
    std::vector<int64_t> outShape(p.output.dims.d, p.output.dims.d + p.output.dims.nbDims);
    size_t const outBytes = static_cast<size_t>(count(outShape)) * element;
    void* output = nullptr;
    void* workspace = nullptr;
    HARNESS_CHECK(buffers.alloc(outBytes + kGuardBytes, &output));
    HARNESS_CHECK(buffers.alloc(p.workspace, &workspace));
    auto* runtime =
        static_cast<IPluginV3OneRuntime*>(p.attached->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
    void* outputs[] = {output};
    std::vector<unsigned char> first(outBytes + kGuardBytes);
    std::vector<unsigned char> again(outBytes + kGuardBytes);
    auto guardIntact = [&](std::vector<unsigned char> const& bytes) {
        for (size_t i = outBytes; i < bytes.size(); ++i)
        {
            if (bytes[i] != kPoison)
            {
                return false;
            }
        }
        return true;
    };

    HARNESS_CHECK(cudaMemset(output, kPoison, outBytes + kGuardBytes));
    int32_t const rc = runtime->enqueue(p.inputs.data(), &p.output, inputs.data(), outputs, workspace, stream);
    HARNESS_CHECK(cudaStreamSynchronize(stream));
    HARNESS_CHECK(cudaMemcpy(first.data(), output, first.size(), cudaMemcpyDeviceToHost));
    std::ostringstream out;
    out << "\"status\":\"ok\",\"enqueue_rc\":" << rc << ",\"guard_intact\":" << (guardIntact(first) ? "true" : "false");

    // the output as float32 for the float64 comparison in tools/plugin_harness.py
    std::vector<float> values(static_cast<size_t>(count(outShape)));
    for (size_t i = 0; i < values.size(); ++i)
    {
        if (half)
        {
            __half h;
            std::memcpy(&h, first.data() + i * 2, 2);
            values[i] = __half2float(h);
        }
        else
        {
            std::memcpy(&values[i], first.data() + i * 4, 4);
        }
    }
    std::ofstream(outDir + "/" + g.id + "." + g.dtype + ".y.f32", std::ios::binary)
        .write(reinterpret_cast<char const*>(values.data()), static_cast<std::streamsize>(values.size() * 4));

    // the same enqueue captured into a CUDA graph, replayed twice into a re-poisoned buffer
    HARNESS_CHECK(cudaMemset(output, kPoison, outBytes + kGuardBytes));
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    HARNESS_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    int32_t const capturedRc = runtime->enqueue(p.inputs.data(), &p.output, inputs.data(), outputs, workspace, stream);
    HARNESS_CHECK(cudaStreamEndCapture(stream, &graph));
    HARNESS_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    HARNESS_CHECK(cudaGraphLaunch(exec, stream));
    HARNESS_CHECK(cudaGraphLaunch(exec, stream));
    HARNESS_CHECK(cudaStreamSynchronize(stream));
    HARNESS_CHECK(cudaMemcpy(again.data(), output, again.size(), cudaMemcpyDeviceToHost));
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    out << ",\"captured_rc\":" << capturedRc
        << ",\"graph_identical\":" << (std::memcmp(first.data(), again.data(), outBytes) == 0 ? "true" : "false")
        << ",\"graph_guard_intact\":" << (guardIntact(again) ? "true" : "false");
    return out.str();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 4)
    {
        std::fprintf(stderr, "usage: %s <libcomix_trt_plugins.so> <grid dir> <out dir>\n", argv[0]);
        return 2;
    }
    std::string const gridDir = argv[2];
    std::string const outDir = argv[3];
    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
    {
        std::fprintf(stderr, "dlopen(%s): %s\n", argv[1], dlerror());
        return 2;
    }
    auto getCreators = reinterpret_cast<GetCreators>(dlsym(library, "getCreators"));
    int32_t nbCreators = 0;
    IPluginCreatorInterface* const* creators = getCreators != nullptr ? getCreators(nbCreators) : nullptr;
    if (creators == nullptr || nbCreators == 0)
    {
        std::fprintf(stderr, "%s: getCreators missing or empty\n", argv[1]);
        return 2;
    }
    std::vector<GridCase> grid;
    std::string error;
    if (!readGrid(gridDir, grid, error))
    {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 2;
    }

    std::ostringstream out;
    out << "{\"library\":" << jsonString(argv[1]) << ",\"creators\":" << nbCreators << ",\"cases\":[";
    std::vector<Prepared> prepared(grid.size());
    std::vector<std::string> phase1(grid.size());
    for (size_t i = 0; i < grid.size(); ++i)
    {
        prepared[i].grid = grid[i];
        IPluginCreatorV3One* creator =
            findCreator(creators, nbCreators, grid[i].nd == 2 ? "DeformConv" : "DeformConv3D");
        phase1[i] = creator != nullptr ? prepare(creator, prepared[i]) : "\"created\":false";
    }

    int32_t devices = 0;
    cudaError_t const first = cudaGetDeviceCount(&devices); // the first CUDA call
    bool const cuda = first == cudaSuccess && devices > 0;
    cudaStream_t stream = nullptr;
    std::string streamError;
    if (cuda)
    {
        cudaError_t const status = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
        if (status != cudaSuccess)
        {
            streamError = "cudaStreamCreateWithFlags: " + cudaText(status);
        }
    }
    for (size_t i = 0; i < grid.size(); ++i)
    {
        out << (i ? "," : "") << "{\"id\":" << jsonString(grid[i].id) << ",\"dtype\":" << jsonString(grid[i].dtype)
            << "," << phase1[i];
        if (cuda && streamError.empty() && prepared[i].ready)
        {
            out << ",\"device\":{" << runOnDevice(prepared[i], gridDir, outDir, stream) << "}";
        }
        out << "}";
    }
    out << "],\"cuda\":{\"first_call\":\"cudaGetDeviceCount\",\"status\":"
        << jsonString(first == cudaSuccess ? "cudaSuccess" : cudaText(first)) << ",\"devices\":" << devices
        << ",\"stream_error\":" << jsonString(streamError) << "}}";
    std::printf("%s\n", out.str().c_str());
    std::fflush(stdout);
    if (stream != nullptr)
    {
        cudaStreamDestroy(stream);
    }
    prepared.clear(); // plugins (code of the library) go before the library
    return cuda && streamError.empty() ? 0 : 3;
}
