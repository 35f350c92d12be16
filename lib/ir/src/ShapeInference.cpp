// Placeholder until shape inference lands.
#include "mars/ir/ShapeInference.h"
