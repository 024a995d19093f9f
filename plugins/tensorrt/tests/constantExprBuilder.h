// tests/constantExprBuilder.h — a test double of TensorRT's IExprBuilder for constant shapes only.
//
// TensorRT implements IExprBuilder inside libnvinfer; a CPU test that calls a plugin's getOutputShapes
// directly needs its own. This one folds every expression to a constant (the only case the tests use)
// through the public apiv::VExprBuilder / VDimensionExpr interfaces of NvInferImpl.h.
#pragma once

#include <cstdint>
#include <deque>

#include <NvInferRuntime.h>

namespace comix {
namespace trt {
namespace test {

class ConstantExprImpl : public nvinfer1::apiv::VDimensionExpr
{
public:
    explicit ConstantExprImpl(int64_t value)
        : mValue(value)
    {}
    bool isConstant() const override
    {
        return true;
    }
    int64_t getConstantValue() const override
    {
        return mValue;
    }
    bool isSizeTensor() const override
    {
        return false;
    }

private:
    int64_t mValue;
};

class ConstantExpr : public nvinfer1::IDimensionExpr
{
public:
    explicit ConstantExpr(int64_t value)
        : mValueImpl(value)
    {
        mImpl = &mValueImpl;
    }
    ~ConstantExpr() noexcept override = default;

private:
    ConstantExprImpl mValueImpl;
};

class ConstantBuilderImpl : public nvinfer1::apiv::VExprBuilder
{
public:
    nvinfer1::IDimensionExpr const* constant(int64_t value) override
    {
        mExprs.emplace_back(value);
        return &mExprs.back();
    }
    nvinfer1::IDimensionExpr const* operation(nvinfer1::DimensionOperation op, nvinfer1::IDimensionExpr const& first,
                                              nvinfer1::IDimensionExpr const& second) override
    {
        int64_t const a = first.getConstantValue();
        int64_t const b = second.getConstantValue();
        using Op = nvinfer1::DimensionOperation;
        int64_t value = 0;
        switch (op)
        {
        case Op::kSUM: value = a + b; break;
        case Op::kPROD: value = a * b; break;
        case Op::kMAX: value = a > b ? a : b; break;
        case Op::kMIN: value = a < b ? a : b; break;
        case Op::kSUB: value = a - b; break;
        case Op::kEQUAL: value = a == b; break;
        case Op::kLESS: value = a < b; break;
        case Op::kFLOOR_DIV: value = (a / b) - ((a % b != 0) && ((a < 0) != (b < 0))); break;
        case Op::kCEIL_DIV: value = (a / b) + ((a % b != 0) && ((a < 0) == (b < 0))); break;
        }
        return constant(value);
    }
    nvinfer1::IDimensionExpr const* declareSizeTensor(int32_t, nvinfer1::IDimensionExpr const&,
                                                      nvinfer1::IDimensionExpr const&) override
    {
        return nullptr;
    }

private:
    std::deque<ConstantExpr> mExprs; // deque: addresses stay valid as expressions are added
};

class ConstantExprBuilder : public nvinfer1::IExprBuilder
{
public:
    ConstantExprBuilder()
    {
        mImpl = &mBuilderImpl;
    }
    ~ConstantExprBuilder() noexcept override = default;

private:
    ConstantBuilderImpl mBuilderImpl;
};

} // namespace test
} // namespace trt
} // namespace comix
