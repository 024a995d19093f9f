// tests/leanRegistryCheck.cpp — drives libcomix_trt_plugins.so through TensorRT's own plugin registry.
//
// Usage: leanRegistryCheck <libnvinfer_lean.so.N> <libcomix_trt_plugins.so>
// dlopens TensorRT's lean runtime (pip: tensorrt-lean-cu13-libs), takes its plugin registry
// (getPluginRegistry, no GPU or driver needed), loads the plugin library with IPluginRegistry::loadLibrary
// and exercises the creators and the plugins' build/runtime interfaces that need no GPU. It prints ONE
// JSON object of observations; tests/plugins/test_tensorrt_lean.py recomputes the expected values and
// asserts on it (this program decides nothing; exit code 2 = could not even start).
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <NvInferRuntime.h>

#include "constantExprBuilder.h"

namespace {

using namespace nvinfer1;

struct Case
{
    char const* label;
    char const* plugin;
    std::vector<std::pair<char const*, std::vector<int32_t>>> fields;
};

std::string jsonInts(int64_t const* values, int32_t n)
{
    std::ostringstream out;
    out << "[";
    for (int32_t i = 0; i < n; ++i)
    {
        out << (i ? "," : "") << values[i];
    }
    out << "]";
    return out.str();
}

std::string jsonFields(PluginFieldCollection const* fc)
{
    if (fc == nullptr)
    {
        return "null";
    }
    std::ostringstream out;
    out << "{";
    for (int32_t i = 0; i < fc->nbFields; ++i)
    {
        PluginField const& f = fc->fields[i];
        out << (i ? "," : "") << "\"" << f.name << "\":{\"type\":" << static_cast<int32_t>(f.type) << ",\"values\":[";
        for (int32_t j = 0; j < f.length; ++j)
        {
            int64_t v = f.type == PluginFieldType::kINT32 ? static_cast<int32_t const*>(f.data)[j]
                                                          : static_cast<int64_t const*>(f.data)[j];
            out << (j ? "," : "") << v;
        }
        out << "]}";
    }
    out << "}";
    return out.str();
}

struct FieldSet
{
    std::vector<std::vector<int32_t>> storage;
    std::vector<PluginField> fields;
    PluginFieldCollection fc{};
    explicit FieldSet(Case const& c)
    {
        for (auto const& f : c.fields)
        {
            storage.push_back(f.second);
        }
        for (size_t i = 0; i < c.fields.size(); ++i)
        {
            fields.emplace_back(c.fields[i].first, storage[i].data(), PluginFieldType::kINT32,
                                static_cast<int32_t>(storage[i].size()));
        }
        fc.nbFields = static_cast<int32_t>(fields.size());
        fc.fields = fields.data();
    }
};

IPluginCreatorV3One* creatorFor(IPluginRegistry& registry, char const* name)
{
    IPluginCreatorInterface* c = registry.getCreator(name, "1", "");
    if (c == nullptr || std::strcmp(c->getInterfaceInfo().kind, "PLUGIN CREATOR_V3ONE") != 0)
    {
        return nullptr;
    }
    return static_cast<IPluginCreatorV3One*>(c);
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

// Build/runtime interface calls on one plugin with concrete shapes (no GPU involved).
std::string driveShapes(IPluginV3* plugin, std::vector<std::vector<int64_t>> const& shapes, DataType type)
{
    auto* build = static_cast<IPluginV3OneBuild*>(plugin->getCapabilityInterface(PluginCapabilityType::kBUILD));
    auto* runtime = static_cast<IPluginV3OneRuntime*>(plugin->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
    int32_t const nbIn = static_cast<int32_t>(shapes.size());
    std::ostringstream out;
    out << "{\"nb_outputs\":" << build->getNbOutputs();

    std::vector<DataType> inTypes(static_cast<size_t>(nbIn), type);
    DataType outType = DataType::kINT8;
    int32_t rc = build->getOutputDataTypes(&outType, 1, inTypes.data(), nbIn);
    out << ",\"output_type_rc\":" << rc << ",\"output_type\":" << static_cast<int32_t>(outType);
    std::vector<DataType> int8Types(static_cast<size_t>(nbIn), DataType::kINT8);
    out << ",\"int8_output_type_rc\":" << build->getOutputDataTypes(&outType, 1, int8Types.data(), nbIn);

    comix::trt::test::ConstantExprBuilder builder;
    std::vector<DimsExprs> inExprs(static_cast<size_t>(nbIn));
    for (int32_t i = 0; i < nbIn; ++i)
    {
        inExprs[i].nbDims = static_cast<int32_t>(shapes[i].size());
        for (size_t j = 0; j < shapes[i].size(); ++j)
        {
            inExprs[i].d[j] = builder.constant(shapes[i][j]);
        }
    }
    DimsExprs outExpr{};
    rc = build->getOutputShapes(inExprs.data(), nbIn, nullptr, 0, &outExpr, 1, builder);
    std::vector<int64_t> outShape;
    for (int32_t j = 0; rc == 0 && j < outExpr.nbDims; ++j)
    {
        outShape.push_back(outExpr.d[j]->getConstantValue());
    }
    out << ",\"output_shape_rc\":" << rc
        << ",\"output_shape\":" << jsonInts(outShape.data(), static_cast<int32_t>(outShape.size()));

    std::vector<DynamicPluginTensorDesc> desc(static_cast<size_t>(nbIn + 1));
    for (int32_t i = 0; i <= nbIn; ++i)
    {
        std::vector<int64_t> const& s = i < nbIn ? shapes[i] : outShape;
        desc[i].desc.dims = dimsOf(s);
        desc[i].desc.type = type;
        desc[i].desc.format = TensorFormat::kLINEAR;
        desc[i].min = desc[i].opt = desc[i].max = dimsOf(s);
    }
    bool allLinear = true;
    for (int32_t pos = 0; pos <= nbIn; ++pos)
    {
        allLinear = allLinear && build->supportsFormatCombination(pos, desc.data(), nbIn, 1);
    }
    out << ",\"supports_linear\":" << (allLinear ? "true" : "false");
    desc[1].desc.type = type == DataType::kFLOAT ? DataType::kHALF : DataType::kFLOAT;
    out << ",\"supports_mixed_types\":"
        << (build->supportsFormatCombination(1, desc.data(), nbIn, 1) ? "true" : "false");
    desc[1].desc.type = type;
    desc[0].desc.format = TensorFormat::kHWC8;
    out << ",\"supports_hwc8\":" << (build->supportsFormatCombination(0, desc.data(), nbIn, 1) ? "true" : "false");
    desc[0].desc.format = TensorFormat::kLINEAR;

    out << ",\"configure_rc\":" << build->configurePlugin(desc.data(), nbIn, desc.data() + nbIn, 1);
    out << ",\"workspace_bytes\":" << build->getWorkspaceSize(desc.data(), nbIn, desc.data() + nbIn, 1);

    std::vector<PluginTensorDesc> plain(static_cast<size_t>(nbIn + 1));
    for (int32_t i = 0; i <= nbIn; ++i)
    {
        plain[i] = desc[i].desc;
    }
    out << ",\"shape_change_rc\":" << runtime->onShapeChange(plain.data(), nbIn, plain.data() + nbIn, 1);
    plain[2].dims.d[1] += 1; // offset with one channel too many
    out << ",\"bad_offset_shape_change_rc\":" << runtime->onShapeChange(plain.data(), nbIn, plain.data() + nbIn, 1);
    out << "}";
    return out.str();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 3)
    {
        std::fprintf(stderr, "usage: %s <libnvinfer_lean.so> <libcomix_trt_plugins.so>\n", argv[0]);
        return 2;
    }
    void* lean = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lean == nullptr)
    {
        std::fprintf(stderr, "dlopen(%s): %s\n", argv[1], dlerror());
        return 2;
    }
    using GetRegistry = IPluginRegistry* (*)();
    auto getRegistry = reinterpret_cast<GetRegistry>(dlsym(lean, "getPluginRegistry"));
    IPluginRegistry* registry = getRegistry != nullptr ? getRegistry() : nullptr;
    if (registry == nullptr)
    {
        std::fprintf(stderr, "getPluginRegistry: not found or null in %s\n", argv[1]);
        return 2;
    }
    std::ostringstream out;
    IPluginRegistry::PluginLibraryHandle handle = registry->loadLibrary(argv[2]);
    out << "{\"loaded\":" << (handle != nullptr ? "true" : "false");

    int32_t nbCreators = 0;
    IPluginCreatorInterface* const* all = registry->getAllCreators(&nbCreators);
    out << ",\"creators\":[";
    bool first = true;
    for (int32_t i = 0; all != nullptr && i < nbCreators; ++i)
    {
        if (std::strcmp(all[i]->getInterfaceInfo().kind, "PLUGIN CREATOR_V3ONE") != 0)
        {
            continue;
        }
        auto* c = static_cast<IPluginCreatorV3One*>(all[i]);
        if (std::strstr(c->getPluginName(), "DeformConv") == nullptr)
        {
            continue;
        }
        PluginFieldCollection const* names = c->getFieldNames();
        out << (first ? "" : ",") << "{\"name\":\"" << c->getPluginName() << "\",\"version\":\""
            << c->getPluginVersion() << "\",\"namespace\":\"" << c->getPluginNamespace() << "\",\"fields\":[";
        for (int32_t j = 0; names != nullptr && j < names->nbFields; ++j)
        {
            out << (j ? "," : "") << "[\"" << names->fields[j].name << "\"," << names->fields[j].length << "]";
        }
        out << "]}";
        first = false;
    }
    out << "]";

    std::vector<Case> const good = {
        {"2d_asymmetric",
         "DeformConv",
         {{"kernel_shape", {3, 2}},
          {"strides", {2, 1}},
          {"pads", {1, 0, 0, 1}},
          {"dilations", {2, 1}},
          {"group", {2}},
          {"offset_group", {2}}}},
        {"2d_defaults_no_kernel", "DeformConv", {}},
        {"3d_asymmetric",
         "DeformConv3D",
         {{"kernel_shape", {3, 2, 1}},
          {"strides", {2, 1, 1}},
          {"pads", {1, 0, 0, 1, 0, 0}},
          {"dilations", {1, 2, 1}},
          {"offset_group", {1}}}},
    };
    out << ",\"roundtrip\":{";
    for (size_t i = 0; i < good.size(); ++i)
    {
        Case const& c = good[i];
        FieldSet set(c);
        IPluginCreatorV3One* creator = creatorFor(*registry, c.plugin);
        IPluginV3* plugin = creator ? creator->createPlugin(c.label, &set.fc, TensorRTPhase::kBUILD) : nullptr;
        std::string original = "null";
        std::string recreated = "null";
        if (plugin != nullptr)
        {
            auto* rt =
                static_cast<IPluginV3OneRuntime*>(plugin->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
            PluginFieldCollection const* fields = rt->getFieldsToSerialize();
            original = jsonFields(fields);
            IPluginV3* again = creator->createPlugin(c.label, fields, TensorRTPhase::kRUNTIME);
            if (again != nullptr)
            {
                auto* rt2 =
                    static_cast<IPluginV3OneRuntime*>(again->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
                recreated = jsonFields(rt2->getFieldsToSerialize());
                IPluginV3* cloned = again->clone();
                out << (i ? "," : "") << "\"" << c.label << "\":{\"created\":true,\"original\":" << original
                    << ",\"recreated\":" << recreated << ",\"clone_fields\":"
                    << jsonFields(static_cast<IPluginV3OneRuntime*>(
                                      cloned->getCapabilityInterface(PluginCapabilityType::kRUNTIME))
                                      ->getFieldsToSerialize())
                    << "}";
                delete cloned;
                delete again;
            }
            else
            {
                out << (i ? "," : "") << "\"" << c.label << "\":{\"created\":true,\"original\":" << original
                    << ",\"recreated\":null}";
            }
            delete plugin;
        }
        else
        {
            out << (i ? "," : "") << "\"" << c.label << "\":{\"created\":false}";
        }
    }
    out << "}";

    std::vector<Case> const bad = {
        {"stride_zero", "DeformConv3D", {{"strides", {0, 1, 1}}}},
        {"pads_short", "DeformConv3D", {{"pads", {1, 1, 1}}}},
        {"kernel_2_values_for_3d", "DeformConv3D", {{"kernel_shape", {3, 3}}}},
        {"unknown_name", "DeformConv3D", {{"stride", {1, 1, 1}}}},
        {"repeated", "DeformConv", {{"group", {1}}, {"group", {1}}}},
        {"negative_pad", "DeformConv", {{"pads", {0, -1, 0, 0}}}},
        {"group_zero", "DeformConv", {{"group", {0}}}},
        {"dilation_huge", "DeformConv", {{"dilations", {1, 1 << 30}}}},
    };
    out << ",\"bad\":{";
    for (size_t i = 0; i < bad.size(); ++i)
    {
        FieldSet set(bad[i]);
        IPluginCreatorV3One* creator = creatorFor(*registry, bad[i].plugin);
        IPluginV3* plugin = creator ? creator->createPlugin(bad[i].label, &set.fc, TensorRTPhase::kBUILD) : nullptr;
        out << (i ? "," : "") << "\"" << bad[i].label << "\":" << (plugin != nullptr ? "true" : "false");
        delete plugin;
    }
    // Wrong field type: FLOAT32 strides.
    {
        float const strides[3] = {1.f, 1.f, 1.f};
        PluginField field("strides", strides, PluginFieldType::kFLOAT32, 3);
        PluginFieldCollection fc{1, &field};
        IPluginCreatorV3One* creator = creatorFor(*registry, "DeformConv3D");
        IPluginV3* plugin = creator ? creator->createPlugin("float_strides", &fc, TensorRTPhase::kBUILD) : nullptr;
        out << ",\"float_strides\":" << (plugin != nullptr ? "true" : "false");
        delete plugin;
    }
    out << "}";

    // Shapes: 3-D asymmetric case, X (2,4,7,6,5), W (6,4,3,2,1), offset (2,18,4,4,5), B (6), mask (2,6,4,4,5).
    {
        FieldSet set(good[2]);
        IPluginCreatorV3One* creator = creatorFor(*registry, "DeformConv3D");
        IPluginV3* plugin = creator ? creator->createPlugin("shapes3d", &set.fc, TensorRTPhase::kBUILD) : nullptr;
        std::vector<std::vector<int64_t>> const shapes = {
            {2, 4, 7, 6, 5}, {6, 4, 3, 2, 1}, {2, 18, 4, 4, 5}, {6}, {2, 6, 4, 4, 5}};
        out << ",\"shapes3d\":" << (plugin ? driveShapes(plugin, shapes, DataType::kHALF) : "null");
        delete plugin;
    }
    // 2-D defaults, kernel taken from W: X (1,4,5,7), W (8,4,3,2), offset (1,12,3,6) (no bias, no mask).
    {
        FieldSet set(good[1]);
        IPluginCreatorV3One* creator = creatorFor(*registry, "DeformConv");
        IPluginV3* plugin = creator ? creator->createPlugin("shapes2d", &set.fc, TensorRTPhase::kBUILD) : nullptr;
        std::vector<std::vector<int64_t>> const shapes = {{1, 4, 5, 7}, {8, 4, 3, 2}, {1, 12, 3, 6}};
        std::string const observed = plugin ? driveShapes(plugin, shapes, DataType::kFLOAT) : "null";
        std::string after = "null";
        if (plugin != nullptr)
        {
            after = jsonFields(
                static_cast<IPluginV3OneRuntime*>(plugin->getCapabilityInterface(PluginCapabilityType::kRUNTIME))
                    ->getFieldsToSerialize());
        }
        out << ",\"shapes2d\":" << observed << ",\"shapes2d_fields_after_configure\":" << after;
        delete plugin;
    }
    out << "}";
    std::printf("%s\n", out.str().c_str());
    std::fflush(stdout);
    registry->deregisterLibrary(handle);
    return 0;
}
