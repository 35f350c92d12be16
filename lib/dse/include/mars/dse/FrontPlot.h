#pragma once
/// \file
/// The SVG of a design-space front: accuracy against energy per image and,
/// when the table has frame rates, accuracy against frames per second.

#include "mars/dse/Join.h"
#include "mars/support/Error.h"

#include <string>

namespace mars::dse {

/// Draws one circle per row (that has both coordinates) in each panel,
/// filled and joined by a step line for Pareto-optimal rows (Row::optimal),
/// hollow for the others; optimal points are labelled with the values of the
/// axes that differ between rows. Requires some row with both acc and
/// energy_per_image.
Expected<std::string> frontPlotSvg(const Table &table);

} // namespace mars::dse
